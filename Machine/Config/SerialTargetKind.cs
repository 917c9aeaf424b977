namespace Emulator.Machine.Config;

public enum SerialTargetKind
{
    None,
    Stdio,
    File,
}
