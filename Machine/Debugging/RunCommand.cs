namespace Emulator.Machine.Debugging;

/// <summary>What a paused vCPU is told to do next.</summary>
public enum RunCommand
{
    Continue,
    Step,
}
