using Xunit;
using Uart = Emulator.Devices.Uart16550.Uart16550;

namespace Emulator.Devices.Tests;

/// <summary>The 16550 driven through its ports, register by register (PC16550D datasheet).</summary>
public class UartTests
{
    // Register offsets and bits, datasheet table 2 and section 8.
    private const int Rbr = 0, Thr = 0, Dll = 0, Ier = 1, Dlm = 1, Iir = 2, Fcr = 2, Lcr = 3, Mcr = 4, Lsr = 5, Msr = 6, Scr = 7;
    private const byte IirNone = 0x01, IirLineStatus = 0x06, IirReceived = 0x04, IirThrEmpty = 0x02;

    private readonly PcPorts _pc = new();

    [Fact]
    public void ThrBytesGoToTheOutput()
    {
        foreach (char c in "Hi!\n")
        {
            _pc.Com(Thr, (byte)c);
        }

        Assert.Equal("Hi!\n"u8.ToArray(), _pc.Transmitted);
    }

    [Fact]
    public void LsrAlwaysReportsThrEmptyAndTransmitterEmpty()
    {
        Assert.Equal(0x60, _pc.Com(Lsr));
        _pc.Com(Thr, 0x41);
        Assert.Equal(0x60, _pc.Com(Lsr) & 0x60);
        _pc.Uart.Receive(1);
        Assert.Equal(0x61, _pc.Com(Lsr));
    }

    [Fact]
    public void DivisorLatchIsReachedWithDlab()
    {
        _pc.Com(Lcr, 0x83); // DLAB, 8N1
        _pc.Com(Dll, 0x01);
        _pc.Com(Dlm, 0x02);
        Assert.Equal(0x01, _pc.Com(Dll));
        Assert.Equal(0x02, _pc.Com(Dlm));
        Assert.Equal(0x0201, _pc.Uart.Divisor);
        Assert.Empty(_pc.Transmitted); // a DLL write is not a transmitted byte

        _pc.Com(Lcr, 0x03);
        Assert.Equal(0x03, _pc.Com(Lcr));
        Assert.Equal(0x00, _pc.Com(Ier)); // IER again, not DLM
        _pc.Com(Ier, 0x05);
        Assert.Equal(0x05, _pc.Com(Ier));
        Assert.Equal(0x0201, _pc.Uart.Divisor);
        _pc.Com(Thr, 0x55);
        Assert.Equal([0x55], _pc.Transmitted);
    }

    [Fact]
    public void DefaultDivisorIs12And9600Baud()
    {
        _pc.Com(Lcr, 0x80);
        Assert.Equal(12, _pc.Com(Dll));
        Assert.Equal(0, _pc.Com(Dlm));
    }

    [Fact]
    public void IerKeepsOnlyItsFourBits()
    {
        _pc.Com(Ier, 0xFF);
        Assert.Equal(0x0F, _pc.Com(Ier));
    }

    [Fact]
    public void ThrEmptyInterruptIsRaisedWhenEnabledAndClearedByReadingIir()
    {
        _pc.Com(Mcr, 0x08); // OUT2 gates the IRQ on a PC
        Assert.Equal(IirNone, _pc.Com(Iir));
        Assert.False(_pc.Irq4.IsRaised);

        _pc.Com(Ier, 0x02);
        Assert.True(_pc.Irq4.IsRaised);
        Assert.Equal(IirThrEmpty, _pc.Com(Iir));
        Assert.False(_pc.Irq4.IsRaised);
        Assert.Equal(IirNone, _pc.Com(Iir));

        // Writing THR empties it again at once: THRE comes back.
        _pc.Com(Thr, 0x41);
        Assert.True(_pc.Irq4.IsRaised);
        Assert.Equal(IirThrEmpty, _pc.Com(Iir));
        Assert.Equal([true, false, true, false], _pc.IrqLevels);
    }

    [Fact]
    public void ReceivedDataOutranksThrEmpty()
    {
        _pc.Com(Mcr, 0x08);
        _pc.Com(Ier, 0x03);
        _pc.Uart.Receive(0x7A);
        Assert.Equal(IirReceived, _pc.Com(Iir));
        Assert.Equal(IirReceived, _pc.Com(Iir)); // reading IIR does not clear received data
        Assert.True(_pc.Irq4.IsRaised);
        Assert.Equal(0x7A, _pc.Com(Rbr));
        Assert.Equal(IirThrEmpty, _pc.Com(Iir));
        Assert.Equal(IirNone, _pc.Com(Iir));
        Assert.False(_pc.Irq4.IsRaised);
    }

    [Fact]
    public void ReceiveQueueDrainsInOrderWithDataReady()
    {
        Assert.Equal(0, _pc.Com(Lsr) & 0x01);
        _pc.Uart.Receive(1);
        _pc.Uart.Receive(2);
        _pc.Uart.Receive(3);
        var got = new List<byte>();
        while ((_pc.Com(Lsr) & 0x01) != 0)
        {
            got.Add(_pc.Com(Rbr));
        }

        Assert.Equal([1, 2, 3], got);
        Assert.Equal(0, _pc.Com(Rbr));
    }

    [Fact]
    public void OverrunSetsLsrOeOnceAndRaisesLineStatusFirst()
    {
        _pc.Com(Mcr, 0x08);
        _pc.Com(Ier, 0x07);
        for (int i = 0; i <= Uart.ReceiveCapacity; i++)
        {
            _pc.Uart.Receive((byte)i);
        }

        Assert.Equal(IirLineStatus, _pc.Com(Iir));
        Assert.Equal(0x63, _pc.Com(Lsr)); // DR | OE | THRE | TEMT
        Assert.Equal(0x61, _pc.Com(Lsr)); // OE clears on read (datasheet 8.6.3)
        Assert.Equal(IirReceived, _pc.Com(Iir));
    }

    [Fact]
    public void LoopbackFeedsTransmittedBytesBackAndModemOutputsToInputs()
    {
        _pc.Com(Mcr, 0x10);
        _pc.Com(Thr, 0x99);
        Assert.Empty(_pc.Transmitted);
        Assert.Equal(0x01, _pc.Com(Lsr) & 0x01);
        Assert.Equal(0x99, _pc.Com(Rbr));

        // Datasheet 8.6.5: CTS = RTS, DSR = DTR, RI = OUT1, DCD = OUT2.
        Assert.Equal(0x00, _pc.Com(Msr) & 0xF0);
        _pc.Com(Mcr, 0x10 | 0x02);
        Assert.Equal(0x10, _pc.Com(Msr) & 0xF0);
        _pc.Com(Mcr, 0x10 | 0x01);
        Assert.Equal(0x20, _pc.Com(Msr) & 0xF0);
        _pc.Com(Mcr, 0x10 | 0x04);
        Assert.Equal(0x40, _pc.Com(Msr) & 0xF0);
        _pc.Com(Mcr, 0x10 | 0x08);
        Assert.Equal(0x80, _pc.Com(Msr) & 0xF0);

        _pc.Com(Mcr, 0x00);
        _pc.Com(Thr, 0x42);
        Assert.Equal([0x42], _pc.Transmitted);
        Assert.Equal(0xB0, _pc.Com(Msr)); // CTS, DSR, DCD from the other end
    }

    [Fact]
    public void IrqIsAssertedOnlyWithOut2()
    {
        _pc.Com(Ier, 0x01);
        _pc.Uart.Receive(5);
        Assert.Equal(IirReceived, _pc.Com(Iir));
        Assert.False(_pc.Irq4.IsRaised);
        _pc.Com(Mcr, 0x08);
        Assert.True(_pc.Irq4.IsRaised);
        _pc.Com(Mcr, 0x03);
        Assert.False(_pc.Irq4.IsRaised);
        _pc.Com(Mcr, 0x0B);
        Assert.True(_pc.Irq4.IsRaised);
        _pc.Com(Rbr);
        Assert.False(_pc.Irq4.IsRaised);
        Assert.Equal(0x0B, _pc.Com(Mcr));
    }

    [Fact]
    public void ScratchRegisterHoldsAByte()
    {
        for (int v = 0; v < 256; v += 17)
        {
            _pc.Com(Scr, (byte)v);
            Assert.Equal(v, _pc.Com(Scr));
        }
    }

    [Fact]
    public void FcrFifoEnableShowsInIirAndClearsTheReceiveFifo()
    {
        Assert.Equal(0x01, _pc.Com(Iir));
        _pc.Com(Fcr, 0x01);
        Assert.Equal(0xC1, _pc.Com(Iir)); // IIR bits 7:6 set with FIFOs enabled (datasheet table 4)
        _pc.Uart.Receive(1);
        _pc.Com(Fcr, 0x03); // bit 1 resets the receiver FIFO
        Assert.Equal(0, _pc.Com(Lsr) & 0x01);
        _pc.Com(Fcr, 0x00);
        Assert.Equal(0x01, _pc.Com(Iir));
    }

    [Fact]
    public void ResetRestoresPowerOnState()
    {
        _pc.Com(Lcr, 0x80);
        _pc.Com(Dll, 1);
        _pc.Com(Lcr, 0x03);
        _pc.Com(Ier, 0x0F);
        _pc.Com(Mcr, 0x1F);
        _pc.Com(Scr, 0x77);
        _pc.Uart.Receive(1);
        _pc.Uart.Reset();
        Assert.Equal(0, _pc.Com(Ier));
        Assert.Equal(0, _pc.Com(Lcr));
        Assert.Equal(0, _pc.Com(Mcr));
        Assert.Equal(0, _pc.Com(Scr));
        Assert.Equal(0x60, _pc.Com(Lsr));
        Assert.Equal(12, _pc.Uart.Divisor);
        Assert.False(_pc.Irq4.IsRaised);
    }
}
