using Iced.Intel;

namespace Emulator.TestKit.Oracle;

/// <summary>
/// One instruction family of the generator: a name (for EMU_ORACLE_FAMILIES and the reports) and
/// which Iced codes belong to it. The generator then keeps the codes the interpreter implements,
/// the host CPU supports and whose operands it can fill. <see cref="Disabled"/> keeps a family out
/// of the default run (it runs when named in EMU_ORACLE_FAMILIES) and says why.
/// </summary>
public sealed record OracleFamily(string Name, Func<Code, bool> Selects, string? Disabled = null)
{
    /// <summary>Codes of <paramref name="encoding"/> whose every CPUID feature is in <paramref name="features"/>.</summary>
    public static OracleFamily ByFeatures(string name, EncodingKind encoding, params CpuidFeature[] features) =>
        new(name, code => code.Encoding() == encoding && code.CpuidFeatures().All(features.Contains));
}
