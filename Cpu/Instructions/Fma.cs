using Emulator.Cpu.Exceptions;
using Emulator.Cpu.Simd;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// FMA3 (SDM Vol. 2C, VFMADD132PD to VFNMSUB231SS): one handler for the 96 forms. The digits
/// say which operands multiply and which one is added (operand 1 is the destination, 2 is
/// VEX.vvvv, 3 is ModRM.r/m): 132 computes op1 * op3 + op2, 213 op2 * op1 + op3, 231
/// op2 * op3 + op1. VFMSUB subtracts the addend, VFNMADD negates the product, VFNMSUB does both;
/// VFMADDSUB subtracts in the even elements and adds in the odd ones, VFMSUBADD the other way.
/// Every lane is one <see cref="SoftFloat.FusedMultiplyAdd"/> (a single rounding under MXCSR).
/// Scalar forms keep the destination's other elements of bits 127:0; every form clears the
/// destination bits above the vector length (VEX, SDM Vol. 1 14.1.2).
/// </summary>
public static class Fma
{
    /// <summary>How one FMA mnemonic computes (parsed once from its name, e.g. Vfnmsub231ps).</summary>
    private readonly record struct Form(int First, int Second, int Addend, bool NegateProduct, bool NegateAddend, int AlternateEven, bool Double, bool Packed);

    private const int Plain = 0, SubtractEven = 1, AddEven = 2;

    private static readonly Form?[] s_forms = BuildForms();

    /// <summary>Every FMA3 mnemonic (for the instruction table).</summary>
    public static IEnumerable<Mnemonic> Mnemonics => Enum.GetValues<Mnemonic>().Where(m => s_forms[(int)m] != null);

    private static Form?[] BuildForms()
    {
        var forms = new Form?[Enum.GetValues<Mnemonic>().Length];
        foreach (var m in Enum.GetValues<Mnemonic>())
        {
            string name = m.ToString().ToLowerInvariant();
            string[] prefixes = ["vfmaddsub", "vfmsubadd", "vfmadd", "vfmsub", "vfnmadd", "vfnmsub"];
            string? prefix = prefixes.FirstOrDefault(p => name.StartsWith(p, StringComparison.Ordinal));
            if (prefix == null || name.Length != prefix.Length + 5 || !int.TryParse(name.AsSpan(prefix.Length, 3), out int order))
            {
                continue;
            }

            string type = name[(prefix.Length + 3)..];
            if (type is not ("ps" or "pd" or "ss" or "sd") || order is not (132 or 213 or 231))
            {
                continue;
            }

            // Operand indices 0-2 (destination, vvvv, r/m) from the digits 1-3.
            int first = (order / 100) - 1, second = (order / 10 % 10) - 1, addend = (order % 10) - 1;
            forms[(int)m] = new Form(
                first,
                second,
                addend,
                NegateProduct: prefix.StartsWith("vfn", StringComparison.Ordinal),
                NegateAddend: prefix is "vfmsub" or "vfnmsub",
                AlternateEven: prefix == "vfmaddsub" ? SubtractEven : prefix == "vfmsubadd" ? AddEven : Plain,
                Double: type[1] == 'd',
                Packed: type[0] == 'p');
        }

        return forms;
    }

    public static void Execute(X86Cpu c, in Instruction i)
    {
        var form = s_forms[(int)i.Mnemonic]!.Value;
        if (!c.AvxAvailable(i) || !c.ReadVectorOperand(i, 2, out YmmRegister rm))
        {
            return;
        }

        Span<YmmRegister> operands = [default, default, rm];
        c.ReadVectorRegister(i.Op0Register, out operands[0]);
        c.ReadVectorRegister(i.Op1Register, out operands[1]);
        FloatFormat f = form.Double ? FloatFormat.Double : FloatFormat.Single;
        int width = i.Op0Register.IsYMM() ? 32 : 16;
        int lanes = form.Packed ? width * 8 / f.Width : 1;
        uint mxcsr = c.S.Vector.Mxcsr;
        var env = FpEnv.FromMxcsr(mxcsr);
        bool overflowMasked = (mxcsr & (Mxcsr.OE << Mxcsr.MaskShift)) != 0;
        YmmRegister result = operands[0];
        for (int k = 0; k < lanes; k++)
        {
            bool negateAddend = form.AlternateEven switch
            {
                SubtractEven => (k & 1) == 0,
                AddEven => (k & 1) != 0,
                _ => form.NegateAddend,
            };
            ulong value = SoftFloat.FusedMultiplyAdd(
                f,
                Lane(operands[form.First], f, k),
                Lane(operands[form.Second], f, k),
                Lane(operands[form.Addend], f, k),
                form.NegateProduct,
                negateAddend,
                overflowMasked,
                ref env);
            SetLane(ref result, f, k, value);
        }

        if (!CommitFlags(c, env.Flags))
        {
            return;
        }

        if (width == 16)
        {
            result[2] = 0;
            result[3] = 0;
        }

        c.WriteVectorRegister(i.Op0Register, result, vex: true);
    }

    /// <summary>Element <paramref name="k"/> of a vector in format <paramref name="f"/>.</summary>
    internal static ulong Lane(in YmmRegister v, FloatFormat f, int k) => f.Width == 64 ? v[k] : (uint)(v[k >> 1] >> (32 * (k & 1)));

    internal static void SetLane(ref YmmRegister v, FloatFormat f, int k, ulong value)
    {
        if (f.Width == 64)
        {
            v[k] = value;
            return;
        }

        int shift = 32 * (k & 1);
        v[k >> 1] = (v[k >> 1] & ~(0xFFFF_FFFFUL << shift)) | ((value & 0xFFFF_FFFF) << shift);
    }

    /// <summary>
    /// Ends a VEX floating-point instruction the way SDM Vol. 1 11.5.2 orders it: when an unmasked
    /// pre-computation exception (IE, DE, ZE) shows in any element, only the pre-computation flags
    /// of all elements reach MXCSR and nothing is computed; otherwise every flag is ORed in, and an
    /// unmasked post-computation one (OE, UE, PE) still leaves the destination unchanged. The
    /// fault is #XM with CR4.OSXMMEXCPT = 1, else #UD (11.5.1). True when the result may be written.
    /// </summary>
    internal static bool RaisesUnmasked(X86Cpu c, uint flags) => (flags & ~(c.S.Vector.Mxcsr >> Mxcsr.MaskShift) & Mxcsr.FlagBits) != 0;

    internal static bool CommitFlags(X86Cpu c, uint flags)
    {
        ref uint mxcsr = ref c.S.Vector.Mxcsr;
        uint unmasked = ~(mxcsr >> Mxcsr.MaskShift) & Mxcsr.FlagBits;
        uint pre = flags & SoftFloat.PreComputationFlags;
        if ((pre & unmasked) != 0)
        {
            mxcsr |= pre;
        }
        else
        {
            mxcsr |= flags;
            if ((flags & unmasked) == 0)
            {
                return true;
            }
        }

        return c.RaiseFault((c.S.Cr4 & ControlBits.Cr4OSXMMEXCPT) != 0 ? Vector.XM : Vector.UD);
    }
}
