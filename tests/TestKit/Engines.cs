using Xunit;

namespace Emulator.TestKit;

/// <summary>
/// Theory data over every engine present. Today that is the interpreter; the JIT joins when the
/// tiered-translator issue lands, and KVM joins where /dev/kvm can run the test.
/// </summary>
public static class Engines
{
    public static TheoryData<Engine> All => new(Enum.GetValues<Engine>());
}
