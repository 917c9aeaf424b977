using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Emulator.Cpu.Decode;
using Iced.Intel;

namespace Emulator.Jit.Cache;

/// <summary>
/// Translations by content, shared by every compiler in the process: a block whose decoded
/// instructions (addresses included) and code size equal those of a block compiled before gets the
/// same <see cref="CompiledBlock"/>, which holds no per-CPU state. A reset or a reboot, and tests
/// that rerun one program from many starting states, then cost a lookup instead of a compile.
/// Bounded: when full it starts over.
/// </summary>
public static class TranslationCache
{
    public const int Capacity = 8192;

    private static readonly ConcurrentDictionary<string, Translation> s_translations = new();

    /// <param name="Optimized">Compiled with full optimization (else the quick tier, which a later promotion replaces here).</param>
    public sealed record Translation(CompiledBlock Code, ulong Limit, int Inlined, bool NeedsFlatStack, bool Optimized = true);

    /// <summary>The key of a block: its code size and the raw bytes of its decoded instructions.</summary>
    public static string KeyOf(Block block)
    {
        ReadOnlySpan<Instruction> instructions = block.Instructions;
        return $"{block.Key.Bitness}:{Convert.ToBase64String(MemoryMarshal.AsBytes(instructions))}";
    }

    public static bool TryGet(string key, out Translation translation) => s_translations.TryGetValue(key, out translation!);

    public static void Add(string key, Translation translation)
    {
        if (s_translations.Count >= Capacity)
        {
            s_translations.Clear();
        }

        s_translations[key] = translation;
    }
}
