namespace System.Runtime;

/// <summary>
/// Keeps a method out of emu's ReadyToRun image (./emu publishes with ReadyToRun), so that the
/// runtime jits it at Tier0 with instrumentation and then at Tier1 with this run's profile.
/// crossgen2 skips every method carrying an attribute of this namespace and name, whichever
/// assembly declares it (the runtime's CoreLib has its own, internal); hence the namespace, the
/// one exception to this project's <c>Emulator.*</c> namespaces.
/// <para>
/// Under scripts/runtime-env (<c>DOTNET_TieredPGO_InstrumentOnlyHotCode=0</c>) the runtime never
/// instruments precompiled code: a hot precompiled method goes to Tier1 once, without a profile.
/// That suits most of <c>Emulator.Cpu</c> and <c>Emulator.Mmu</c>, whose start-up code is then
/// not jitted at all (start-up 74 -> 59 ms), but not the run loop: with it precompiled too, a Linux
/// boot took 0.2 s longer (bench/README.md, "Runtime settings").
/// </para>
/// </summary>
[AttributeUsage(AttributeTargets.Method | AttributeTargets.Constructor, Inherited = false)]
internal sealed class BypassReadyToRunAttribute : Attribute
{
}
