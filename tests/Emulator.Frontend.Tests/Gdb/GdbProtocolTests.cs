using System.Buffers.Binary;
using System.Text;
using System.Xml;
using Emulator.Frontend.Gdb;
using Emulator.Machine.Debugging;
using Xunit;

namespace Emulator.Frontend.Tests.Gdb;

/// <summary>The stub over a real loopback socket against <see cref="FakeDebugTarget"/>, packet by packet.</summary>
public sealed class GdbProtocolTests : IDisposable
{
    private readonly GdbStubFixture _stub = new();
    private readonly GdbTestClient _client;

    public GdbProtocolTests()
    {
        _client = _stub.Connect();
    }

    public void Dispose() => _stub.Dispose();

    [Fact]
    public void PacketIsAckedAndTheReplyChecksumIsRight()
    {
        _client.SendRaw("$?#3f");
        _client.ExpectByte('+');
        Assert.Equal("T05thread:01;", _client.ReadReply());
    }

    [Fact]
    public void BadChecksumIsNakedAndTheRetransmissionWorks()
    {
        _client.SendRaw("$?#00");
        _client.ExpectByte('-');
        _client.SendRaw("$?#3f");
        _client.ExpectByte('+');
        Assert.Equal("T05thread:01;", _client.ReadReply());
    }

    [Fact]
    public void NakMakesTheStubResendItsReply()
    {
        _client.Send("qAttached");
        string first = ReadRawPacket();
        _client.SendRaw("-");
        string second = ReadRawPacket();
        Assert.Equal("$1#31", first);
        Assert.Equal(first, second);
        _client.SendRaw("+");
        Assert.Equal("QC01", _client.Command("qC"));
    }

    [Fact]
    public void GarbageBetweenPacketsIsIgnored()
    {
        _client.SendRaw("hello\r\n\0\xff");
        Assert.Equal("1", _client.Command("qAttached"));
        _client.SendRaw("#42 more noise ");
        Assert.Equal("QC01", _client.Command("qC"));
    }

    [Fact]
    public void QSupportedAnnouncesTheFeatures()
    {
        string reply = _client.Command("qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386");
        var features = reply.Split(';');
        Assert.Contains($"PacketSize={GdbSession.PacketSize:x}", features);
        Assert.Contains("qXfer:features:read+", features);
        Assert.Contains("QStartNoAckMode+", features);
        Assert.Contains("vContSupported+", features);
        Assert.Contains("swbreak+", features);
        Assert.Contains("hwbreak+", features);
    }

    [Fact]
    public void ThreadQueries()
    {
        Assert.Equal("m01", _client.Command("qfThreadInfo"));
        Assert.Equal("l", _client.Command("qsThreadInfo"));
        Assert.Equal("OK", _client.Command("Hg0"));
        Assert.Equal("OK", _client.Command("Hc-1"));
        Assert.Equal("OK", _client.Command("Hg1"));
        Assert.Equal("E22", _client.Command("Hg2"));
        Assert.Equal("OK", _client.Command("T1"));
        Assert.Equal("E22", _client.Command("T2"));
        Assert.Equal("Text=0;Data=0;Bss=0", _client.Command("qOffsets"));
    }

    [Fact]
    public void TargetXmlFetchedInPiecesDescribesTheGPacket()
    {
        var xml = new StringBuilder();
        while (true)
        {
            string reply = _client.Command($"qXfer:features:read:target.xml:{xml.Length:x},80");
            Assert.True(reply[0] is 'm' or 'l', reply);
            Assert.True(reply.Length <= 0x81);
            xml.Append(reply.AsSpan(1));
            if (reply[0] == 'l')
            {
                break;
            }
        }

        var document = new XmlDocument();
        using (var reader = XmlReader.Create(new StringReader(xml.ToString()), new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore }))
        {
            document.Load(reader);
        }

        Assert.Equal("i386:x86-64", document.SelectSingleNode("/target/architecture")?.InnerText);
        var features = document.SelectNodes("/target/feature/@name")!.Cast<XmlNode>().Select(n => n.Value).ToList();
        Assert.Equal(["org.gnu.gdb.i386.core", "org.gnu.gdb.i386.sse", "org.gnu.gdb.i386.segments", "org.gnu.gdb.i386.sys"], features);

        var registers = document.SelectNodes("//reg")!.Cast<XmlElement>().ToList();
        var names = registers.Select(r => r.GetAttribute("name")).ToList();
        Assert.Equal(0, names.IndexOf("rax"));
        Assert.Equal(7, names.IndexOf("rsp"));
        Assert.Equal(16, names.IndexOf("rip"));
        Assert.Equal(17, names.IndexOf("eflags"));
        Assert.Equal(24, names.IndexOf("st0"));
        Assert.Equal(40, names.IndexOf("xmm0"));
        Assert.Equal(56, names.IndexOf("mxcsr"));
        Assert.Contains("cr3", names);
        Assert.Contains("efer", names);
        Assert.Equal("32", registers[17].GetAttribute("bitsize"));
        Assert.Equal("80", registers[24].GetAttribute("bitsize"));
        Assert.Equal("128", registers[40].GetAttribute("bitsize"));

        int bits = registers.Sum(r => int.Parse(r.GetAttribute("bitsize"), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(bits / 4, _client.Command("g").Length);
    }

    [Fact]
    public void UnknownAnnexIsAnError()
    {
        Assert.Equal("E00", _client.Command("qXfer:features:read:other.xml:0,100"));
        Assert.Equal("", _client.Command("qXfer:memory-map:read::0,100"));
    }

    [Fact]
    public void GReplyHoldsTheTargetRegistersInGdbOrder()
    {
        byte[] g = Convert.FromHexString(_client.Command("g"));
        Assert.Equal(_stub.Target[DebugRegister.Rax], BinaryPrimitives.ReadUInt64LittleEndian(g.AsSpan(0)));
        Assert.Equal(_stub.Target[DebugRegister.R15], BinaryPrimitives.ReadUInt64LittleEndian(g.AsSpan(15 * 8)));
        Assert.Equal(0x1000UL, BinaryPrimitives.ReadUInt64LittleEndian(g.AsSpan(128)));
        Assert.Equal(0x246U, BinaryPrimitives.ReadUInt32LittleEndian(g.AsSpan(136)));
        Assert.Equal(0x10U, BinaryPrimitives.ReadUInt32LittleEndian(g.AsSpan(140)));

        // x87 after FNINIT: fctrl 0x37f at 164 + 80, ftag 0xffff two registers later.
        Assert.Equal(0x37FU, BinaryPrimitives.ReadUInt32LittleEndian(g.AsSpan(244)));
        Assert.Equal(0xFFFFU, BinaryPrimitives.ReadUInt32LittleEndian(g.AsSpan(252)));
        Assert.Equal(0x1F80U, BinaryPrimitives.ReadUInt32LittleEndian(g.AsSpan(276 + 256)));
    }

    [Fact]
    public void GWritesBackOnlyWhatChanged()
    {
        byte[] g = Convert.FromHexString(_client.Command("g"));
        BinaryPrimitives.WriteUInt64LittleEndian(g.AsSpan(8), 0xDEAD_BEEF_0000_0001);
        g[244] = 0x7F ^ 0xFF; // fctrl: accepted and ignored
        while (_stub.Target.Calls.TryDequeue(out _))
        {
        }

        Assert.Equal("OK", _client.Command("G" + Convert.ToHexStringLower(g)));
        Assert.Equal(0xDEAD_BEEF_0000_0001UL, _stub.Target[DebugRegister.Rbx]);
        Assert.Equal(["set Rbx"], _stub.Target.Calls);
        Assert.Equal("7f030000", _client.Command("p20"));
        Assert.Equal("E22", _client.Command("G1234"));
    }

    [Fact]
    public void SingleRegistersRoundTrip()
    {
        Assert.Equal("0010000000000000", _client.Command("p10"));
        Assert.Equal("46020000", _client.Command("p11"));
        Assert.Equal("OK", _client.Command("P10=3412000000000000"));
        Assert.Equal(0x1234UL, _stub.Target[DebugRegister.Rip]);
        Assert.Equal("OK", _client.Command("P11=02000000"));
        Assert.Equal(0x2UL, _stub.Target[DebugRegister.Rflags]);

        // cr3 is register 62 (0x3e): after fs_base 57, gs_base 58, k_gs_base 59, cr0 60, cr2 61.
        Assert.Equal("0090000000000000", _client.Command("p3e"));
        Assert.Equal("OK", _client.Command("P3e=00a0000000000000"));
        Assert.Equal(0xA000UL, _stub.Target[DebugRegister.Cr3]);

        // xmm0 (40 = 0x28) reads as zero and ignores writes.
        Assert.Equal(new string('0', 32), _client.Command("p28"));
        Assert.Equal("OK", _client.Command("P28=" + new string('1', 32)));
        Assert.Equal(new string('0', 32), _client.Command("p28"));

        // A non-canonical RIP is refused; a wrong length or number is malformed.
        Assert.Equal("E22", _client.Command("P10=0000000000800000"));
        Assert.Equal("E22", _client.Command("P10=34"));
        Assert.Equal("E14", _client.Command("p99"));
        Assert.Equal("E22", _client.Command("P"));
    }

    [Fact]
    public void MemoryReadsAndWritesInHex()
    {
        Assert.Equal(Convert.ToHexStringLower(_stub.Target.Memory.AsSpan(0x1000, 4)), _client.Command("m1000,4"));
        Assert.Equal("OK", _client.Command("M1000,4:deadbeef"));
        Assert.Equal("deadbeef", _client.Command("m1000,4"));
        Assert.Equal("E22", _client.Command("M1000,4:dead"));
        Assert.Equal("E22", _client.Command("mzz,4"));
    }

    [Fact]
    public void BinaryWriteCarriesEscapedBytes()
    {
        byte[] data = [(byte)'#', (byte)'$', (byte)'}', (byte)'*', 0x03, 0x00, 0xFF, 0x20];
        var escaped = new StringBuilder();
        foreach (byte b in data)
        {
            escaped.Append(b is (byte)'#' or (byte)'$' or (byte)'}' or (byte)'*' ? $"}}{(char)(b ^ 0x20)}" : ((char)b).ToString());
        }

        Assert.Equal("OK", _client.Command("X1100,0:"));
        Assert.Equal("OK", _client.Command($"X1100,{data.Length:x}:{escaped}"));
        Assert.Equal(data, _stub.Target.Memory.AsSpan(0x1100, data.Length).ToArray());
        Assert.Equal("E22", _client.Command("X1100,5:ab"));
    }

    [Fact]
    public void RunLengthEncodedRequestIsExpanded()
    {
        // "1*!" is '1' and four more ('!' is 33 = 4 + 29), so the data is "11111111".
        Assert.Equal("OK", _client.Command("M1200,4:1*!111"));
        Assert.Equal("11111111", _client.Command("m1200,4"));
    }

    [Fact]
    public void ReadAcrossTheHoleIsShortThenAnError()
    {
        Assert.Equal(Convert.ToHexStringLower(_stub.Target.Memory.AsSpan(0x1FFC, 4)), _client.Command("m1ffc,10"));
        Assert.Equal("E14", _client.Command("m2000,4"));
        Assert.Equal("E14", _client.Command("M1fff,2:abcd"));
        Assert.Equal("E14", _client.Command("mffffffffffff0000,4"));
    }

    [Fact]
    public void SoftwareAndHardwareBreakpointStops()
    {
        Assert.Equal("OK", _client.Command("Z0,1000,1"));
        Assert.Contains((BreakpointKind.Software, 0x1000UL, 1), _stub.Target.Breakpoints);
        _stub.Target.ContinueScript.Enqueue(DebugStop.AtBreakpoint);
        Assert.Equal("T05thread:01;swbreak:;", _client.Command("c"));

        Assert.Equal("OK", _client.Command("z0,1000,1"));
        Assert.Empty(_stub.Target.Breakpoints);
        Assert.Equal("E01", _client.Command("z0,1000,1"));

        Assert.Equal("OK", _client.Command("Z1,1000,1"));
        _stub.Target.ContinueScript.Enqueue(DebugStop.AtBreakpoint);
        Assert.Equal("T05thread:01;hwbreak:;", _client.Command("vCont;c"));
        Assert.Equal("T05thread:01;hwbreak:;", _client.Command("?"));
    }

    [Fact]
    public void WatchpointStopsNameTheAddress()
    {
        Assert.Equal("OK", _client.Command("Z2,1234,4"));
        Assert.Equal("OK", _client.Command("Z3,1238,8"));
        Assert.Equal("OK", _client.Command("Z4,1240,1"));
        Assert.Equal("E01", _client.Command("Z2,1234,3"));
        Assert.Equal("", _client.Command("Z7,1234,4"));
        Assert.Equal("E22", _client.Command("Z2,zz,4"));

        _stub.Target.ContinueScript.Enqueue(new DebugStop(DebugStopKind.Watchpoint, 0x1234, BreakpointKind.WriteWatch));
        _stub.Target.ContinueScript.Enqueue(new DebugStop(DebugStopKind.Watchpoint, 0x1238, BreakpointKind.ReadWatch));
        _stub.Target.ContinueScript.Enqueue(new DebugStop(DebugStopKind.Watchpoint, 0x1240, BreakpointKind.AccessWatch));
        Assert.Equal("T05watch:1234;thread:01;", _client.Command("c"));
        Assert.Equal("T05rwatch:1238;thread:01;", _client.Command("c"));
        Assert.Equal("T05awatch:1240;thread:01;", _client.Command("c"));
        Assert.Equal("T05awatch:1240;thread:01;", _client.Command("?"));
    }

    [Fact]
    public void StepAdvancesAndCanStartAtAnAddress()
    {
        Assert.Equal("T05thread:01;", _client.Command("s"));
        Assert.Equal(0x1000 + FakeDebugTarget.StepLength, _stub.Target[DebugRegister.Rip]);
        Assert.Equal("T05thread:01;", _client.Command("s1100"));
        Assert.Equal(0x1100 + FakeDebugTarget.StepLength, _stub.Target[DebugRegister.Rip]);
        Assert.Equal("T05thread:01;", _client.Command("S05;1200"));
        Assert.Equal(0x1200 + FakeDebugTarget.StepLength, _stub.Target[DebugRegister.Rip]);
    }

    [Fact]
    public void VContStepWinsForThreadOne()
    {
        Assert.Equal("vCont;c;C;s;S", _client.Command("vCont?"));
        Assert.Equal("T05thread:01;", _client.Command("vCont;s:1;c"));
        Assert.Equal(["step"], _stub.Target.Calls.Where(c => c is "step" or "continue"));
        Assert.Equal("T05thread:01;", _client.Command("vCont;s"));
        Assert.Equal("E22", _client.Command("vCont;x"));
    }

    [Fact]
    public void CtrlCInterruptsABlockedContinue()
    {
        _client.Send("c");
        Assert.True(_stub.Target.Running.Wait(TimeSpan.FromSeconds(10)));
        _client.SendRaw([0x03]);
        Assert.Equal("T02thread:01;", _client.ReadReply());
        Assert.Equal("T02thread:01;", _client.Command("?"));
        Assert.Equal("1", _client.Command("qAttached"));
    }

    [Fact]
    public void MonitorCommandOutputComesBackAsOPackets()
    {
        _client.Send("qRcmd," + Convert.ToHexStringLower("info registers"u8));
        string output = _client.ReadReply();
        Assert.StartsWith("O", output, StringComparison.Ordinal);
        Assert.Equal("monitor: info registers\n", Encoding.UTF8.GetString(Convert.FromHexString(output[1..])));
        Assert.Equal("OK", _client.ReadReply());

        _stub.Target.MonitorHandler = _ => throw new InvalidOperationException("broken monitor");
        Assert.Equal("E01", _client.Command("qRcmd,00"));
        Assert.Equal("E22", _client.Command("qRcmd,zz"));
        Assert.Equal("1", _client.Command("qAttached"));
    }

    [Fact]
    public void NoAckModeDropsAcks()
    {
        Assert.Equal("OK", _client.Command("QStartNoAckMode"));
        _client.NoAck = true;
        Assert.Equal("1", _client.Command("qAttached"));
        _client.SendRaw("$?#00");
        Assert.Equal("QC01", _client.Command("qC"));
        Assert.Equal("T05thread:01;", _client.Command("s"));
    }

    [Theory]
    [InlineData("vMustReplyEmpty")]
    [InlineData("qFooBar")]
    [InlineData("QNonStop:1")]
    [InlineData("J123")]
    [InlineData("!")]
    [InlineData("")]
    public void UnknownPacketGetsTheEmptyReply(string packet)
    {
        Assert.Equal("", _client.Command(packet));
        Assert.Equal("1", _client.Command("qAttached"));
    }

    [Fact]
    public void DetachLeavesTheGuestRunningAndTheNextClientStopsIt()
    {
        Assert.Equal("OK", _client.Command("Z0,1000,1"));
        Assert.Equal("OK", _client.Command("D"));
        Assert.True(_client.WaitForClose());
        Assert.True(_stub.Target.Running.Wait(TimeSpan.FromSeconds(10)));
        Assert.Empty(_stub.Target.Breakpoints);

        var second = _stub.Connect();
        Assert.Equal("T02thread:01;", second.Command("?"));
        Assert.Contains("interrupt", _stub.Target.Calls);
    }

    [Fact]
    public void DisconnectWhileStoppedServesTheNextClient()
    {
        _client.Dispose();
        var second = _stub.Connect();
        Assert.Equal("T05thread:01;", second.Command("?"));
    }

    [Fact]
    public void KillEndsTheSessionAndAsksTheProcessToExit()
    {
        _client.Send("k");
        Assert.True(_client.WaitForClose());
        Assert.True(SpinWait.SpinUntil(() => _stub.KillCount == 1, TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void GuestExitIsReportedWithItsStatus()
    {
        _stub.Target.ContinueScript.Enqueue(new DebugStop(DebugStopKind.Exited, ExitStatus: 3));
        Assert.Equal("W03", _client.Command("c"));
        Assert.True(SpinWait.SpinUntil(() => _stub.ExitStatus == 3, TimeSpan.FromSeconds(10)));
    }

    private string ReadRawPacket()
    {
        var text = new StringBuilder();
        int b;
        while ((b = _client.ReadByte()) != '#')
        {
            text.Append((char)b);
        }

        return text.Append('#').Append((char)_client.ReadByte()).Append((char)_client.ReadByte()).ToString();
    }
}
