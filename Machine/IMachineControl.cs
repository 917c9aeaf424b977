namespace Emulator.Machine;

/// <summary>What devices may ask of the machine: power off, exit with a status, reset.</summary>
public interface IMachineControl
{
    void PowerOff();

    void Exit(int status);

    void RequestReset();
}
