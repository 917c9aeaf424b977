using System.Reflection;
using Emulator.Jit.Emit;
using Xunit;

namespace Emulator.Jit.Tests.Emit;

/// <summary>
/// The quick tier's methods live in a dynamic assembly of their own (BlockMethod), where a call to
/// a non-public method compiles but throws <see cref="MethodAccessException"/> when it runs (seen
/// once: the lazy-flag helper was private, and the guest's first fault path took the host down).
/// Every method the emitter calls from generated IL must therefore be public on a public type.
/// </summary>
public class CalledMethodsTests
{
    [Fact]
    public void EveryMethodCalledFromGeneratedCodeIsPublic()
    {
        var fields = typeof(BlockEmitter).GetFields(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public)
            .Where(f => f.FieldType == typeof(MethodInfo))
            .ToList();
        Assert.NotEmpty(fields);
        foreach (var field in fields)
        {
            var method = (MethodInfo)field.GetValue(null)!;
            Assert.True(method.IsPublic && method.DeclaringType!.IsVisible, $"{field.Name}: {method.DeclaringType}.{method.Name} is not public");
        }
    }
}
