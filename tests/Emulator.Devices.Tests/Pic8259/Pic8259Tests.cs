using Xunit;

namespace Emulator.Devices.Tests.Pic8259;

/// <summary>
/// The 8259A pair driven through its ports and input lines. Expected behaviour from the Intel
/// 8259A datasheet (order 231468) and, for the ELCR, the 82371AB PIIX4 datasheet 4.1.11.
/// </summary>
public class Pic8259Tests
{
    private const ushort M = PicBench.Master, S = PicBench.Slave;

    [Fact]
    public void PowerOnChipIsMaskedAndInitializationClearsTheImr()
    {
        var b = new PicBench();
        Assert.Equal(0xFF, b.In(M + 1));
        b.Raise(1);
        Assert.False(b.Pic.Intr);
        Assert.False(b.Pic.CanInterrupt);
        // "Initialization Command Words" b): ICW1 clears the IMR.
        b.Init();
        Assert.Equal(0x00, b.In(M + 1));
        Assert.Equal(0x00, b.In(S + 1));
        Assert.True(b.Pic.CanInterrupt);
    }

    [Fact]
    public void Icw2SetsTheVectorBaseForEachChip()
    {
        var b = new PicBench().Init(0x20, 0x28);
        b.Pulse(1);
        Assert.True(b.Pic.Intr);
        Assert.Equal(0x21, b.Pic.Acknowledge());
        b.Eoi(1);
        b.Pulse(12);
        Assert.True(b.Pic.Intr);
        // Cascade: the master acknowledges IR2, the slave supplies the vector (datasheet "Cascading").
        Assert.Equal(0x2C, b.Pic.Acknowledge());
        // ICW2 low three bits are ignored in 8086 mode (T7-T3 only).
        b.Init(0x0F, 0x77);
        b.Pulse(0);
        Assert.Equal(0x08, b.Pic.Acknowledge());
    }

    [Fact]
    public void Ocw1MasksAndUnmaskingDeliversTheLatchedRequest()
    {
        var b = new PicBench().Init();
        b.Out(M + 1, 0x10); // mask IRQ 4
        b.Pulse(4);
        Assert.False(b.Pic.Intr);
        Assert.Equal(0x10, b.In(M)); // IRR still latches it (OCW3 default reads IRR)
        Assert.Equal(0x10, b.In(M + 1));
        b.Out(M + 1, 0x00);
        Assert.True(b.Pic.Intr);
        Assert.Equal(0x0C, b.Pic.Acknowledge());
        Assert.False(b.Pic.Intr);
        Assert.Equal([true, false], b.IntrEdges);
    }

    [Fact]
    public void FullyNestedModeServesHigherPrioritiesFirstAndHoldsLowerOnesUntilEoi()
    {
        var b = new PicBench().Init();
        b.Pulse(5);
        b.Pulse(3);
        Assert.Equal(0x0B, b.Pic.Acknowledge());
        // IRQ 5 is of lower priority than IRQ 3 in service: held off.
        Assert.False(b.Pic.Intr);
        b.Out(M, 0x0B); // OCW3: read ISR
        Assert.Equal(0x08, b.In(M));
        // A higher-priority request nests.
        b.Pulse(1);
        Assert.Equal(0x09, b.Pic.Acknowledge());
        Assert.Equal(0x0A, b.In(M));
        b.Out(M, 0x20); // non-specific EOI resets the highest ISR bit: IRQ 1
        Assert.Equal(0x08, b.In(M));
        Assert.False(b.Pic.Intr);
        b.Out(M, 0x20);
        Assert.True(b.Pic.Intr);
        Assert.Equal(0x0D, b.Pic.Acknowledge());
    }

    [Fact]
    public void SpecificEoiResetsTheNamedIsrBit()
    {
        var b = new PicBench().Init();
        b.Pulse(6);
        Assert.Equal(0x0E, b.Pic.Acknowledge());
        b.Pulse(2 + 1);
        Assert.Equal(0x0B, b.Pic.Acknowledge());
        b.Out(M, 0x0B);
        Assert.Equal(0x48, b.In(M));
        b.Out(M, 0x66); // specific EOI, IR6
        Assert.Equal(0x08, b.In(M));
        b.Out(M, 0x40); // OCW2 no-op
        Assert.Equal(0x08, b.In(M));
    }

    [Fact]
    public void RotateOnNonSpecificEoiMakesTheServedIrqLowest()
    {
        // Automatic rotation (datasheet "Rotating Priority"): equal-priority devices take turns.
        var b = new PicBench().Init();
        b.Pulse(1);
        b.Pulse(4);
        Assert.Equal(0x09, b.Pic.Acknowledge());
        b.Out(M, 0xA0); // rotate on non-specific EOI: IR1 becomes lowest, IR2 highest
        b.Pulse(1);
        Assert.Equal(0x0C, b.Pic.Acknowledge()); // IR4 now outranks IR1
        b.Out(M, 0xA0); // IR4 lowest: IR5 highest ... IR1 before IR4
        Assert.Equal(0x09, b.Pic.Acknowledge());
    }

    [Fact]
    public void SetPriorityAndRotateOnSpecificEoi()
    {
        var b = new PicBench().Init();
        b.Out(M, 0xC4); // set priority: IR4 lowest, so IR5 highest
        b.Pulse(3);
        b.Pulse(6);
        Assert.Equal(0x0E, b.Pic.Acknowledge());
        b.Out(M, 0xE6); // rotate on specific EOI for IR6: IR6 lowest, IR7 highest
        b.Pulse(7);
        Assert.Equal(0x0F, b.Pic.Acknowledge());
        b.Out(M, 0x67);
        Assert.Equal(0x0B, b.Pic.Acknowledge());
    }

    [Fact]
    public void AutoEoiLeavesIsrClearAndRotatesWhenAsked()
    {
        var b = new PicBench().Init(icw4: 0x03); // ICW4: AEOI, 8086
        b.Pulse(3);
        b.Pulse(5);
        Assert.Equal(0x0B, b.Pic.Acknowledge());
        b.Out(M, 0x0B);
        Assert.Equal(0x00, b.In(M));
        Assert.True(b.Pic.Intr); // nothing in service holds IR5
        b.Out(M, 0x80); // rotate in AEOI mode (set)
        Assert.Equal(0x0D, b.Pic.Acknowledge());
        b.Pulse(3);
        b.Pulse(6);
        // IR5 became lowest: IR6 now outranks IR3.
        Assert.Equal(0x0E, b.Pic.Acknowledge());
        b.Out(M, 0x00); // rotate in AEOI mode (clear)
        Assert.Equal(0x0B, b.Pic.Acknowledge());
    }

    [Fact]
    public void EdgeModeNeedsANewRisingEdge()
    {
        var b = new PicBench().Init();
        b.Raise(3);
        Assert.Equal(0x0B, b.Pic.Acknowledge());
        b.Eoi(3);
        // The line is still high: no new edge, no new request.
        Assert.False(b.Pic.Intr);
        b.Lower(3);
        b.Raise(3);
        Assert.True(b.Pic.Intr);
    }

    [Fact]
    public void LevelModeViaElcrRequestsAgainWhileTheLineStaysHigh()
    {
        var b = new PicBench().Init();
        b.Out(PicBench.Elcr, 0xFF);
        b.Out(PicBench.Elcr + 1, 0xFF);
        // IRQ 0, 1, 2 and 8, 13 are edge only.
        Assert.Equal(0xF8, b.In(PicBench.Elcr));
        Assert.Equal(0xDE, b.In(PicBench.Elcr + 1));
        b.Raise(3);
        Assert.Equal(0x0B, b.Pic.Acknowledge());
        Assert.False(b.Pic.Intr); // held by ISR
        b.Eoi(3);
        Assert.True(b.Pic.Intr); // the level still requests
        Assert.Equal(0x0B, b.Pic.Acknowledge());
        b.Lower(3);
        b.Eoi(3);
        Assert.False(b.Pic.Intr);
        Assert.Equal(0x00, b.In(M)); // IRR follows the level
    }

    [Fact]
    public void Icw1LtimMakesTheWholeChipLevelTriggered()
    {
        var b = new PicBench();
        b.Out(M, 0x19); // ICW1 with LTIM
        b.Out(M + 1, 0x08);
        b.Out(M + 1, 0x04);
        b.Out(M + 1, 0x01);
        b.Raise(0);
        Assert.Equal(0x08, b.Pic.Acknowledge());
        b.Out(M, 0x20);
        Assert.True(b.Pic.Intr);
    }

    [Fact]
    public void CascadeSetsIsrOnBothChipsAndNeedsTwoEois()
    {
        var b = new PicBench().Init();
        b.Pulse(9);
        Assert.Equal(0x71, b.Pic.Acknowledge());
        b.Out(M, 0x0B);
        b.Out(S, 0x0B);
        Assert.Equal(0x04, b.In(M));
        Assert.Equal(0x02, b.In(S));
        // The slave's IR0 (IRQ 8) outranks IR1 but the master's IR2 is in service: fully nested
        // mode blocks it at the master.
        b.Pulse(8);
        Assert.False(b.Pic.Intr);
        b.Out(S, 0x20);
        Assert.False(b.Pic.Intr);
        b.Out(M, 0x20);
        Assert.True(b.Pic.Intr);
        Assert.Equal(0x70, b.Pic.Acknowledge());
        // The slave's priority sits at the master's IR2: above IRQ 3, below IRQ 1.
        b.Eoi(8);
        b.Pulse(3);
        b.Pulse(15);
        Assert.Equal(0x77, b.Pic.Acknowledge());
    }

    [Fact]
    public void SpecialFullyNestedModeLetsTheSlaveInterruptItself()
    {
        var b = new PicBench();
        b.Out(M, 0x11);
        b.Out(M + 1, 0x08);
        b.Out(M + 1, 0x04);
        b.Out(M + 1, 0x11); // ICW4 SFNM
        b.Out(S, 0x11);
        b.Out(S + 1, 0x70);
        b.Out(S + 1, 0x02);
        b.Out(S + 1, 0x01);
        b.Pulse(9);
        Assert.Equal(0x71, b.Pic.Acknowledge());
        b.Pulse(8);
        Assert.True(b.Pic.Intr);
        Assert.Equal(0x70, b.Pic.Acknowledge());
    }

    [Fact]
    public void VanishedRequestGivesSpuriousIrq7WithoutIsr()
    {
        // "Edge and Level Triggered Modes": an IR input that goes low before INTA gives a default IR7.
        var b = new PicBench().Init();
        b.Out(PicBench.Elcr, 0x20);
        b.Raise(5);
        Assert.True(b.Pic.Intr);
        b.Lower(5);
        Assert.Equal(0x0F, b.Pic.Acknowledge());
        b.Out(M, 0x0B);
        Assert.Equal(0x00, b.In(M)); // a spurious IR7 sets no ISR bit
    }

    [Fact]
    public void RequestMaskedAfterIntrGivesSpuriousIrq7AndSlaveGivesIrq15()
    {
        var b = new PicBench().Init();
        b.Pulse(4);
        b.Out(M + 1, 0x10);
        Assert.Equal(0x0F, b.Pic.Acknowledge());

        var c = new PicBench().Init();
        c.Out(PicBench.Elcr + 1, 0x08);
        c.Raise(11);
        // The CPU has seen INTR; the master's IR2 request is latched before the slave's goes away.
        c.Out(M + 1, 0x04);
        c.Lower(11);
        c.Out(M + 1, 0x00);
        Assert.True(c.Pic.Intr);
        Assert.Equal(0x77, c.Pic.Acknowledge()); // IRQ 15's vector
        c.Out(S, 0x0B);
        Assert.Equal(0x00, c.In(S));
    }

    [Fact]
    public void PollModeReturnsTheHighestRequestAndAcknowledgesIt()
    {
        // "The Poll Command": OCW3 P = 1, the next read is I, W2-W0 and acts as INTA.
        var b = new PicBench().Init();
        b.Out(M + 1, 0xFF);
        b.Out(M, 0x0C);
        Assert.Equal(0x00, b.In(M)); // nothing pending
        b.Out(M + 1, 0x00);
        b.Pulse(6);
        b.Pulse(5);
        b.Out(M, 0x0C);
        Assert.Equal(0x85, b.In(M));
        b.Out(M, 0x0B);
        Assert.Equal(0x20, b.In(M)); // ISR has IR5
        Assert.Equal(0x20, b.In(M)); // the register choice sticks across reads
        b.Out(M, 0x0A);
        Assert.Equal(0x40, b.In(M)); // IRR: IR6 still waits
        // Poll works on the data port too (A0 is a don't-care for the poll read).
        b.Out(M, 0x20);
        b.Out(M, 0x0C);
        Assert.Equal(0x86, b.In(M + 1));
    }

    [Fact]
    public void SpecialMaskModeLetsLowerPrioritiesInWhileTheMaskedIrqIsInService()
    {
        // OCW3 ESMM/SMM (datasheet "Special Mask Mode").
        var b = new PicBench().Init();
        b.Pulse(3);
        Assert.Equal(0x0B, b.Pic.Acknowledge());
        b.Pulse(5);
        Assert.False(b.Pic.Intr);
        b.Out(M + 1, 0x08); // mask IR3 (in service)
        b.Out(M, 0x68); // set special mask mode
        Assert.True(b.Pic.Intr);
        Assert.Equal(0x0D, b.Pic.Acknowledge());
        b.Out(M, 0x48); // reset special mask mode
        b.Out(M, 0x65); // specific EOI IR5
        b.Pulse(6);
        Assert.False(b.Pic.Intr); // IR3 in service blocks again
    }

    [Fact]
    public void ReinitializationResetsTheEdgeSenseAndIsr()
    {
        var b = new PicBench().Init();
        b.Raise(4);
        Assert.Equal(0x0C, b.Pic.Acknowledge());
        b.Init();
        b.Out(M, 0x0B);
        Assert.Equal(0x00, b.In(M));
        // "Initialization Command Words" a): the line must go low and high again.
        Assert.False(b.Pic.Intr);
        b.Lower(4);
        b.Raise(4);
        Assert.True(b.Pic.Intr);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void RandomPortTrafficAndLineChangesNeverThrow(int seed)
    {
        var random = new Random(seed);
        var b = new PicBench();
        ushort[] ports = [0x20, 0x21, 0xA0, 0xA1, 0x4D0, 0x4D1];
        int[] sizes = [1, 2, 4];
        for (int i = 0; i < 50_000; i++)
        {
            ushort port = (ushort)(ports[random.Next(ports.Length)] + random.Next(-1, 2));
            switch (random.Next(8))
            {
                case 0:
                case 1:
                    b.Ports.Read(port, sizes[random.Next(3)]);
                    break;
                case 2:
                case 3:
                case 4:
                    b.Ports.Write(port, sizes[random.Next(3)], (uint)random.NextInt64(0x1_0000_0000));
                    break;
                case 5:
                    b.Pic.Inputs[random.Next(16)].Set(random.Next(2) == 0);
                    break;
                case 6:
                    if (b.Pic.Intr)
                    {
                        b.Pic.Acknowledge();
                    }

                    break;
                default:
                    b.Pic.Acknowledge();
                    break;
            }
        }
    }
}
