using Xunit;

namespace Emulator.TestKit;

/// <summary>
/// Theory data over every engine present: the interpreter and the JIT; KVM joins where /dev/kvm
/// can run the test.
/// </summary>
public static class Engines
{
    public static TheoryData<Engine> All => new(Enum.GetValues<Engine>());
}
