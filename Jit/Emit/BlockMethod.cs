using System.Reflection;
using System.Reflection.Emit;
using Emulator.Cpu;
using Emulator.Cpu.Decode;
using Emulator.Cpu.State;

namespace Emulator.Jit.Emit;

/// <summary>
/// The method a block's IL goes into, <c>int (object keepAlive, X86Cpu cpu, CpuState* state)</c>.
/// RyuJIT compiles a <see cref="DynamicMethod"/> with full optimization, always (no tiering and no
/// switch for it, dotnet/runtime#73594): about 1-2 µs per IL byte on our inline IL, a millisecond
/// for a typical block. A quick method is a static method marked
/// <see cref="MethodImplAttributes.NoOptimization"/> on a type of its own in a collectible
/// dynamic assembly, which RyuJIT compiles with MinOpts, about ten times faster, into slower code
/// (locals stay in the frame). The first tier of <see cref="Tiering.JitCompiler"/> uses it.
/// </summary>
internal abstract class BlockMethod
{
    private static readonly Type[] s_parameters = [typeof(object), typeof(X86Cpu), typeof(CpuState*)];

    public abstract string Name { get; }

    public abstract ILGenerator IL { get; }

    /// <summary>Finishes the method and binds it to <paramref name="keepAlive"/> (its first argument).</summary>
    public abstract CompiledBlock CreateDelegate(object keepAlive);

    public static BlockMethod Create(string name, bool optimize) => optimize ? new Optimized(name) : new Quick(name);

    private sealed class Optimized(string name) : BlockMethod
    {
        // Zero-initialised locals (the default, spelt out): an empty read site is 0 (BlockEmitter.ReadSites.cs).
        private readonly DynamicMethod _method = new(name, typeof(int), s_parameters, typeof(BlockEmitter).Module, skipVisibility: true) { InitLocals = true };
        private ILGenerator? _il;

        public override string Name => _method.Name;

        public override ILGenerator IL => _il ??= _method.GetILGenerator();

        public override CompiledBlock CreateDelegate(object keepAlive) => (CompiledBlock)_method.CreateDelegate(typeof(CompiledBlock), keepAlive);
    }

    private sealed class Quick : BlockMethod
    {
        // A new assembly every so many types: a collectible assembly is unloaded only when none of
        // its types is reachable, so one assembly for everything would keep every dropped block.
        private const int TypesPerAssembly = 128;

        // Per thread (the compiler thread; tests compile on their own threads): a ModuleBuilder is
        // not meant for concurrent definition.
        [ThreadStatic]
        private static ModuleBuilder? s_module;

        [ThreadStatic]
        private static int s_types;

        private readonly TypeBuilder _type;
        private readonly MethodBuilder _method;
        private ILGenerator? _il;

        public Quick(string name)
        {
            if (s_module is null || s_types >= TypesPerAssembly)
            {
                var assembly = AssemblyBuilder.DefineDynamicAssembly(new AssemblyName("Emulator.Jit.QuickBlocks"), AssemblyBuilderAccess.RunAndCollect);
                s_module = assembly.DefineDynamicModule("QuickBlocks");
                s_types = 0;
            }

            // Type names must be unique within the module; the block's address may repeat.
            _type = s_module.DefineType($"{name}_{s_types++}", TypeAttributes.Public | TypeAttributes.Sealed | TypeAttributes.Abstract | TypeAttributes.Class);
            _method = _type.DefineMethod(name, MethodAttributes.Public | MethodAttributes.Static, typeof(int), s_parameters);
            _method.SetImplementationFlags(MethodImplAttributes.NoOptimization);
            _method.InitLocals = true;
        }

        public override string Name => _method.Name;

        public override ILGenerator IL => _il ??= _method.GetILGenerator();

        public override CompiledBlock CreateDelegate(object keepAlive)
        {
            var method = _type.CreateType().GetMethod(_method.Name, BindingFlags.Public | BindingFlags.Static)!;
            return method.CreateDelegate<CompiledBlock>(keepAlive);
        }
    }
}
