using System.Runtime.InteropServices;

namespace Emulator.Cpu.State;

/// <summary>Owns the native allocation that holds one <see cref="CpuState"/>.</summary>
public sealed unsafe class CpuStateBlock : IDisposable
{
    public CpuStateBlock()
    {
        // SAFETY: a block of exactly sizeof(CpuState), zeroed, freed once in Dispose.
        Pointer = (CpuState*)NativeMemory.AlignedAlloc((nuint)sizeof(CpuState), 64);
        NativeMemory.Clear(Pointer, (nuint)sizeof(CpuState));
    }

    public CpuState* Pointer { get; private set; }

    public ref CpuState State => ref *Pointer;

    public void Dispose()
    {
        if (Pointer != null)
        {
            NativeMemory.AlignedFree(Pointer);
            Pointer = null;
        }
    }
}
