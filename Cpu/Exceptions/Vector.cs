namespace Emulator.Cpu.Exceptions;

/// <summary>Exception vectors, named as in SDM Vol. 3A 6.3.1, table 6-1.</summary>
public static class Vector
{
    public const int DE = 0;
    public const int DB = 1;
    public const int NMI = 2;
    public const int BP = 3;
    public const int OF = 4;
    public const int BR = 5;
    public const int UD = 6;
    public const int NM = 7;
    public const int DF = 8;
    public const int TS = 10;
    public const int NP = 11;
    public const int SS = 12;
    public const int GP = 13;
    public const int PF = 14;
    public const int MF = 16;
    public const int AC = 17;
    public const int MC = 18;
    public const int XM = 19;

    /// <summary>Vectors that push an error code (SDM table 6-1, "Error Code" column).</summary>
    public static bool HasErrorCode(int vector) => vector is DF or TS or NP or SS or GP or PF or AC or 21;

    /// <summary>
    /// Fault-class exceptions (SDM Vol. 3A table 6-1, "Type" column): the saved RIP points at the
    /// faulting instruction. #DB is a fault or a trap by its cause and is decided by the caller.
    /// </summary>
    public static bool IsFault(int vector) => vector is DE or BR or UD or NM or TS or NP or SS or GP or PF or MF or AC or XM or 20 or 21;

    /// <summary>Contributory exceptions for the double-fault rule (SDM table 6-4 and 6-5).</summary>
    public static bool IsContributory(int vector) => vector is DE or TS or NP or SS or GP;

    public static string Name(int vector) => vector switch
    {
        DE => "#DE",
        DB => "#DB",
        NMI => "NMI",
        BP => "#BP",
        OF => "#OF",
        BR => "#BR",
        UD => "#UD",
        NM => "#NM",
        DF => "#DF",
        TS => "#TS",
        NP => "#NP",
        SS => "#SS",
        GP => "#GP",
        PF => "#PF",
        MF => "#MF",
        AC => "#AC",
        MC => "#MC",
        XM => "#XM",
        _ => $"vector {vector}",
    };
}
