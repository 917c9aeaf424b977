using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// The one handler table of the interpreter, indexed by Iced <see cref="Code"/>.
/// Notation: <c>Map(Mnemonic.X, handler)</c> sets the row of every legacy-encoded Code with that
/// mnemonic (ADD has 40 Codes, one per width and operand form; the handler reads widths from the
/// instruction), <c>Set(Code.X, handler)</c> sets one row and overrides a mnemonic row. Every row
/// left unset raises #UD and is logged once (<see cref="Unimplemented"/>). The JIT calls these same
/// handlers unless it has an inline fast path for the row.
/// </summary>
public static unsafe class InstructionTable
{
    private static readonly bool[] s_implemented = new bool[Enum.GetValues<Code>().Length];

    public static readonly delegate*<X86Cpu, in Instruction, void>[] Handlers = Build();

    /// <summary>True when <paramref name="code"/> has a handler (for tests and the "unimplemented" report).</summary>
    public static bool IsImplemented(Code code) => s_implemented[(int)code];

    private static delegate*<X86Cpu, in Instruction, void>[] Build()
    {
        var t = new delegate*<X86Cpu, in Instruction, void>[s_implemented.Length];
        for (int k = 0; k < t.Length; k++)
        {
            t[k] = &Unimplemented;
        }

        // The codes of each mnemonic, found in one pass: Map and MapVex are called about 500 times,
        // and a scan of all 4,900 codes for each took 14 ms of every start-up.
        var mnemonics = new int[Enum.GetValues<Mnemonic>().Length + 1];
        for (int k = 0; k < t.Length; k++)
        {
            mnemonics[(int)((Code)k).Mnemonic() + 1]++;
        }

        for (int m = 1; m < mnemonics.Length; m++)
        {
            mnemonics[m] += mnemonics[m - 1];
        }

        var codesByMnemonic = new int[t.Length];
        var filled = new int[mnemonics.Length];
        for (int k = 0; k < t.Length; k++)
        {
            int m = (int)((Code)k).Mnemonic();
            codesByMnemonic[mnemonics[m] + filled[m]++] = k;
        }

        void MapEncoding(Mnemonic mnemonic, EncodingKind encoding, delegate*<X86Cpu, in Instruction, void> handler)
        {
            for (int j = mnemonics[(int)mnemonic]; j < mnemonics[(int)mnemonic + 1]; j++)
            {
                int k = codesByMnemonic[j];
                if (((Code)k).Encoding() == encoding)
                {
                    t[k] = handler;
                    s_implemented[k] = true;
                }
            }
        }

        void Map(Mnemonic mnemonic, delegate*<X86Cpu, in Instruction, void> handler) => MapEncoding(mnemonic, EncodingKind.Legacy, handler);

        void MapWhere(Func<Code, bool> predicate, delegate*<X86Cpu, in Instruction, void> handler)
        {
            for (int k = 0; k < t.Length; k++)
            {
                var code = (Code)k;
                if (code.Encoding() == EncodingKind.Legacy && predicate(code))
                {
                    t[k] = handler;
                    s_implemented[k] = true;
                }
            }
        }

        void MapVex(Mnemonic mnemonic, delegate*<X86Cpu, in Instruction, void> handler) => MapEncoding(mnemonic, EncodingKind.VEX, handler);

        void Set(Code code, delegate*<X86Cpu, in Instruction, void> handler)
        {
            t[(int)code] = handler;
            s_implemented[(int)code] = true;
        }

        // Integer ALU (Alu.cs)
        Map(Mnemonic.Add, &Alu.Add);
        Map(Mnemonic.Or, &Alu.Or);
        Map(Mnemonic.Adc, &Alu.Adc);
        Map(Mnemonic.Sbb, &Alu.Sbb);
        Map(Mnemonic.And, &Alu.And);
        Map(Mnemonic.Sub, &Alu.Sub);
        Map(Mnemonic.Xor, &Alu.Xor);
        Map(Mnemonic.Cmp, &Alu.Cmp);
        Map(Mnemonic.Test, &Alu.Test);
        Map(Mnemonic.Inc, &Alu.Inc);
        Map(Mnemonic.Dec, &Alu.Dec);
        Map(Mnemonic.Neg, &Alu.Neg);
        Map(Mnemonic.Not, &Alu.Not);

        // Shifts and rotates (Shift.cs)
        Map(Mnemonic.Rol, &Shift.Rol);
        Map(Mnemonic.Ror, &Shift.Ror);
        Map(Mnemonic.Rcl, &Shift.Rcl);
        Map(Mnemonic.Rcr, &Shift.Rcr);
        Map(Mnemonic.Shl, &Shift.Shl);
        Map(Mnemonic.Sal, &Shift.Shl);
        Map(Mnemonic.Shr, &Shift.Shr);
        Map(Mnemonic.Sar, &Shift.Sar);

        Map(Mnemonic.Shld, &DoubleShift.Shld);
        Map(Mnemonic.Shrd, &DoubleShift.Shrd);

        // Multiply and divide (MulDiv.cs)
        Map(Mnemonic.Mul, &MulDiv.Mul);
        Map(Mnemonic.Imul, &MulDiv.Imul);
        Map(Mnemonic.Div, &MulDiv.Div);
        Map(Mnemonic.Idiv, &MulDiv.Idiv);

        // Data movement and bit operations (Move.cs)
        Map(Mnemonic.Mov, &Move.Mov); // the control- and debug-register forms are overridden under System
        Map(Mnemonic.Movzx, &Move.Movzx);
        Map(Mnemonic.Movsx, &Move.Movsx);
        Map(Mnemonic.Movsxd, &Move.Movsx);
        Map(Mnemonic.Lea, &Move.Lea);
        Map(Mnemonic.Xchg, &Move.Xchg);
        Map(Mnemonic.Xadd, &Move.Xadd);
        Map(Mnemonic.Cmpxchg, &Move.Cmpxchg);
        Map(Mnemonic.Bswap, &Move.Bswap);
        Map(Mnemonic.Bt, &Move.BitTest);
        Map(Mnemonic.Bts, &Move.BitTest);
        Map(Mnemonic.Btr, &Move.BitTest);
        Map(Mnemonic.Btc, &Move.BitTest);
        Map(Mnemonic.Bsf, &Move.BitScan);
        Map(Mnemonic.Bsr, &Move.BitScan);
        MapWhere(code => code.Mnemonic().ToString().StartsWith("Cmov", StringComparison.Ordinal), &Move.Cmovcc);
        MapWhere(code => code.Mnemonic().ToString().StartsWith("Set", StringComparison.Ordinal) && code.ConditionCode() != ConditionCode.None, &Move.Setcc);
        Set(Code.Cbw, &Move.ExtendAccumulator);
        Set(Code.Cwde, &Move.ExtendAccumulator);
        Set(Code.Cdqe, &Move.ExtendAccumulator);
        Set(Code.Cwd, &Move.SignIntoDx);
        Set(Code.Cdq, &Move.SignIntoDx);
        Set(Code.Cqo, &Move.SignIntoDx);
        Set(Code.Lahf, &Move.Lahf);
        Set(Code.Sahf, &Move.Sahf);
        Set(Code.Clc, &Move.Clc);
        Set(Code.Stc, &Move.Stc);
        Set(Code.Cmc, &Move.Cmc);
        Set(Code.Cld, &Move.Cld);
        Set(Code.Std, &Move.Std);
        Map(Mnemonic.Nop, &Move.Nop);
        Map(Mnemonic.Xlatb, &Move.Xlat);
        Set(Code.Salc, &Move.Salc);
        Map(Mnemonic.Bound, &Branch.Bound);
        Set(Code.Pause, &Move.Nop);

        // CET hints on a CPU without CET: ENDBR32/ENDBR64 and RDSSPD/RDSSPQ sit in the hint-NOP
        // space (0F 1E) and execute as NOPs, leaving every register alone (SDM Vol. 1 18.3.1;
        // Vol. 2A, ENDBR64 and RDSSP). Distribution binaries built with -fcf-protection start every
        // function with ENDBR64.
        Set(Code.Endbr32, &Move.Nop);
        Set(Code.Endbr64, &Move.Nop);
        Set(Code.Rdsspd_r32, &Move.Nop);
        Set(Code.Rdsspq_r64, &Move.Nop);

        // Decimal and ASCII adjust (Bcd.cs)
        Set(Code.Daa, &Bcd.Daa);
        Set(Code.Das, &Bcd.Das);
        Set(Code.Aaa, &Bcd.Aaa);
        Set(Code.Aas, &Bcd.Aas);
        Set(Code.Aam_imm8, &Bcd.Aam);
        Set(Code.Aad_imm8, &Bcd.Aad);

        // Bit counting and manipulation (BitManipulation.cs); BMI1/BMI2 are VEX-encoded.
        Map(Mnemonic.Popcnt, &BitManipulation.Popcnt);
        Map(Mnemonic.Lzcnt, &BitManipulation.Lzcnt);
        Map(Mnemonic.Tzcnt, &BitManipulation.Tzcnt);
        Map(Mnemonic.Adcx, &BitManipulation.AddCarryFlag);
        Map(Mnemonic.Adox, &BitManipulation.AddCarryFlag);
        Map(Mnemonic.Movbe, &BitManipulation.Movbe);
        Map(Mnemonic.Crc32, &BitManipulation.Crc32);
        MapVex(Mnemonic.Andn, &BitManipulation.Andn);
        MapVex(Mnemonic.Bextr, &BitManipulation.Bextr);
        MapVex(Mnemonic.Blsi, &BitManipulation.LowestSetBit);
        MapVex(Mnemonic.Blsmsk, &BitManipulation.LowestSetBit);
        MapVex(Mnemonic.Blsr, &BitManipulation.LowestSetBit);
        MapVex(Mnemonic.Bzhi, &BitManipulation.Bzhi);
        MapVex(Mnemonic.Mulx, &BitManipulation.Mulx);
        MapVex(Mnemonic.Pdep, &BitManipulation.Pdep);
        MapVex(Mnemonic.Pext, &BitManipulation.Pext);
        MapVex(Mnemonic.Rorx, &BitManipulation.Rorx);
        MapVex(Mnemonic.Sarx, &BitManipulation.ShiftX);
        MapVex(Mnemonic.Shlx, &BitManipulation.ShiftX);
        MapVex(Mnemonic.Shrx, &BitManipulation.ShiftX);

        // Packed-integer SIMD: MMX, SSE2, SSSE3, SSE4.1, SSE4.2, AES-NI, PCLMULQDQ, each with its
        // VEX forms (SimdInteger.cs, SimdIntegerElements.cs, SseString.cs, Aes.cs, SimdLane.cs).
        void MapSimd(Mnemonic legacy, delegate*<X86Cpu, in Instruction, void> handler)
        {
            Map(legacy, handler);
            string name = legacy.ToString();
            if (Enum.TryParse("V" + char.ToLowerInvariant(name[0]) + name[1..], out Mnemonic vex))
            {
                MapVex(vex, handler);
            }
        }

        foreach (var m in new[]
        {
            Mnemonic.Paddb, Mnemonic.Paddw, Mnemonic.Paddd, Mnemonic.Paddq, Mnemonic.Psubb, Mnemonic.Psubw, Mnemonic.Psubd, Mnemonic.Psubq,
            Mnemonic.Paddsb, Mnemonic.Paddsw, Mnemonic.Paddusb, Mnemonic.Paddusw, Mnemonic.Psubsb, Mnemonic.Psubsw, Mnemonic.Psubusb, Mnemonic.Psubusw,
            Mnemonic.Pcmpeqb, Mnemonic.Pcmpeqw, Mnemonic.Pcmpeqd, Mnemonic.Pcmpeqq, Mnemonic.Pcmpgtb, Mnemonic.Pcmpgtw, Mnemonic.Pcmpgtd, Mnemonic.Pcmpgtq,
            Mnemonic.Pand, Mnemonic.Pandn, Mnemonic.Por, Mnemonic.Pxor,
            Mnemonic.Pmullw, Mnemonic.Pmulhw, Mnemonic.Pmulhuw, Mnemonic.Pmulld, Mnemonic.Pmuludq, Mnemonic.Pmuldq, Mnemonic.Pmulhrsw, Mnemonic.Pmaddwd, Mnemonic.Pmaddubsw,
            Mnemonic.Pavgb, Mnemonic.Pavgw, Mnemonic.Pminub, Mnemonic.Pmaxub, Mnemonic.Pminsb, Mnemonic.Pmaxsb, Mnemonic.Pminsw, Mnemonic.Pmaxsw,
            Mnemonic.Pminuw, Mnemonic.Pmaxuw, Mnemonic.Pminsd, Mnemonic.Pmaxsd, Mnemonic.Pminud, Mnemonic.Pmaxud, Mnemonic.Psadbw,
            Mnemonic.Psignb, Mnemonic.Psignw, Mnemonic.Psignd,
            Mnemonic.Packsswb, Mnemonic.Packuswb, Mnemonic.Packssdw, Mnemonic.Packusdw,
            Mnemonic.Punpcklbw, Mnemonic.Punpcklwd, Mnemonic.Punpckldq, Mnemonic.Punpcklqdq, Mnemonic.Punpckhbw, Mnemonic.Punpckhwd, Mnemonic.Punpckhdq, Mnemonic.Punpckhqdq,
            Mnemonic.Phaddw, Mnemonic.Phaddd, Mnemonic.Phaddsw, Mnemonic.Phsubw, Mnemonic.Phsubd, Mnemonic.Phsubsw,
            Mnemonic.Pshufb, Mnemonic.Palignr, Mnemonic.Pblendw, Mnemonic.Mpsadbw, Mnemonic.Pclmulqdq,
            Mnemonic.Aesenc, Mnemonic.Aesenclast, Mnemonic.Aesdec, Mnemonic.Aesdeclast,
        })
        {
            MapSimd(m, &SimdInteger.Binary);
        }

        foreach (var m in new[]
        {
            Mnemonic.Pabsb, Mnemonic.Pabsw, Mnemonic.Pabsd, Mnemonic.Pshufd, Mnemonic.Pshufw, Mnemonic.Pshuflw, Mnemonic.Pshufhw,
            Mnemonic.Phminposuw, Mnemonic.Aesimc, Mnemonic.Aeskeygenassist,
        })
        {
            MapSimd(m, &SimdInteger.Unary);
        }

        foreach (var m in new[]
        {
            Mnemonic.Psllw, Mnemonic.Pslld, Mnemonic.Psllq, Mnemonic.Psrlw, Mnemonic.Psrld, Mnemonic.Psrlq, Mnemonic.Psraw, Mnemonic.Psrad,
            Mnemonic.Pslldq, Mnemonic.Psrldq,
        })
        {
            MapSimd(m, &SimdInteger.Shift);
        }

        foreach (var m in new[]
        {
            Mnemonic.Movd, Mnemonic.Movq, Mnemonic.Movq2dq, Mnemonic.Movdq2q, Mnemonic.Movntq, Mnemonic.Movdqa, Mnemonic.Movdqu,
            Mnemonic.Lddqu, Mnemonic.Movntdq, Mnemonic.Movntdqa,
        })
        {
            MapSimd(m, &SimdInteger.Move);
        }

        foreach (var m in new[] { Mnemonic.Pextrb, Mnemonic.Pextrw, Mnemonic.Pextrd, Mnemonic.Pextrq })
        {
            MapSimd(m, &SimdIntegerElements.Extract);
        }

        foreach (var m in new[] { Mnemonic.Pinsrb, Mnemonic.Pinsrw, Mnemonic.Pinsrd, Mnemonic.Pinsrq })
        {
            MapSimd(m, &SimdIntegerElements.Insert);
        }

        foreach (var m in new[]
        {
            Mnemonic.Pmovsxbw, Mnemonic.Pmovsxbd, Mnemonic.Pmovsxbq, Mnemonic.Pmovsxwd, Mnemonic.Pmovsxwq, Mnemonic.Pmovsxdq,
            Mnemonic.Pmovzxbw, Mnemonic.Pmovzxbd, Mnemonic.Pmovzxbq, Mnemonic.Pmovzxwd, Mnemonic.Pmovzxwq, Mnemonic.Pmovzxdq,
        })
        {
            MapSimd(m, &SimdIntegerElements.Extend);
        }

        foreach (var m in new[] { Mnemonic.Pcmpestri, Mnemonic.Pcmpestri64, Mnemonic.Pcmpestrm, Mnemonic.Pcmpestrm64, Mnemonic.Pcmpistri, Mnemonic.Pcmpistrm })
        {
            MapSimd(m, &SseString.Compare);
        }

        MapSimd(Mnemonic.Pmovmskb, &SimdIntegerElements.MoveMask);
        MapSimd(Mnemonic.Ptest, &SimdIntegerElements.Test);
        MapSimd(Mnemonic.Pblendvb, &SimdIntegerElements.BlendVariable);
        MapSimd(Mnemonic.Maskmovq, &SimdIntegerElements.MaskedStore);
        MapSimd(Mnemonic.Maskmovdqu, &SimdIntegerElements.MaskedStore);
        Set(Code.Emms, &SimdInteger.Emms);

        // The SSE/SSE2 members outside the vector registers: MOVNTI is a MOV with a cache hint.
        Map(Mnemonic.Movnti, &Move.Mov);
        Map(Mnemonic.Lfence, &Fence.Barrier);
        Map(Mnemonic.Mfence, &Fence.Barrier);
        Map(Mnemonic.Sfence, &Fence.Barrier);

        // AVX2 integer instructions without a legacy twin (Avx2Integer.cs); AVX2 is not in CPUID yet.
        MapVex(Mnemonic.Vpbroadcastb, &Avx2Integer.Broadcast);
        MapVex(Mnemonic.Vpbroadcastw, &Avx2Integer.Broadcast);
        MapVex(Mnemonic.Vpbroadcastd, &Avx2Integer.Broadcast);
        MapVex(Mnemonic.Vpbroadcastq, &Avx2Integer.Broadcast);
        MapVex(Mnemonic.Vbroadcasti128, &Avx2Integer.Broadcast);
        MapVex(Mnemonic.Vpermd, &Avx2Integer.Permute);
        MapVex(Mnemonic.Vpermq, &Avx2Integer.Permute);
        MapVex(Mnemonic.Vperm2i128, &Avx2Integer.Permute);
        MapVex(Mnemonic.Vinserti128, &Avx2Integer.Insert128);
        MapVex(Mnemonic.Vextracti128, &Avx2Integer.Extract128);
        MapVex(Mnemonic.Vpmaskmovd, &Avx2Integer.MaskedMove);
        MapVex(Mnemonic.Vpmaskmovq, &Avx2Integer.MaskedMove);
        MapVex(Mnemonic.Vpsllvd, &Avx2Integer.VariableShift);
        MapVex(Mnemonic.Vpsllvq, &Avx2Integer.VariableShift);
        MapVex(Mnemonic.Vpsrlvd, &Avx2Integer.VariableShift);
        MapVex(Mnemonic.Vpsrlvq, &Avx2Integer.VariableShift);
        MapVex(Mnemonic.Vpsravd, &Avx2Integer.VariableShift);
        MapVex(Mnemonic.Vpblendd, &Avx2Integer.BlendDwords);
        MapVex(Mnemonic.Vpgatherdd, &Avx2Integer.Gather);
        MapVex(Mnemonic.Vpgatherdq, &Avx2Integer.Gather);
        MapVex(Mnemonic.Vpgatherqd, &Avx2Integer.Gather);
        MapVex(Mnemonic.Vpgatherqq, &Avx2Integer.Gather);
        MapVex(Mnemonic.Vgatherdps, &Avx2Integer.Gather);
        MapVex(Mnemonic.Vgatherdpd, &Avx2Integer.Gather);
        MapVex(Mnemonic.Vgatherqps, &Avx2Integer.Gather);
        MapVex(Mnemonic.Vgatherqpd, &Avx2Integer.Gather);

        // AVX/AVX2 floating point: the VEX forms of the SSE float instructions and the AVX-only
        // ones (AvxFloat.cs, AvxFloatMove.cs, AvxFloatConvert.cs, AvxPermute.cs).
        foreach (var m in new[]
        {
            Mnemonic.Vaddps, Mnemonic.Vaddpd, Mnemonic.Vaddss, Mnemonic.Vaddsd, Mnemonic.Vsubps, Mnemonic.Vsubpd, Mnemonic.Vsubss, Mnemonic.Vsubsd,
            Mnemonic.Vmulps, Mnemonic.Vmulpd, Mnemonic.Vmulss, Mnemonic.Vmulsd, Mnemonic.Vdivps, Mnemonic.Vdivpd, Mnemonic.Vdivss, Mnemonic.Vdivsd,
            Mnemonic.Vminps, Mnemonic.Vminpd, Mnemonic.Vminss, Mnemonic.Vminsd, Mnemonic.Vmaxps, Mnemonic.Vmaxpd, Mnemonic.Vmaxss, Mnemonic.Vmaxsd,
        })
        {
            MapVex(m, &AvxFloat.Binary);
        }

        foreach (var m in new[]
        {
            Mnemonic.Vsqrtps, Mnemonic.Vsqrtpd, Mnemonic.Vsqrtss, Mnemonic.Vsqrtsd, Mnemonic.Vrcpps, Mnemonic.Vrcpss, Mnemonic.Vrsqrtps, Mnemonic.Vrsqrtss,
            Mnemonic.Vroundps, Mnemonic.Vroundpd, Mnemonic.Vroundss, Mnemonic.Vroundsd,
        })
        {
            MapVex(m, &AvxFloat.Unary);
        }

        foreach (var m in new[] { Mnemonic.Vcmpps, Mnemonic.Vcmppd, Mnemonic.Vcmpss, Mnemonic.Vcmpsd })
        {
            MapVex(m, &AvxFloat.Compare);
        }

        foreach (var m in new[] { Mnemonic.Vcomiss, Mnemonic.Vcomisd, Mnemonic.Vucomiss, Mnemonic.Vucomisd })
        {
            MapVex(m, &AvxFloat.CompareFlags);
        }

        foreach (var m in new[] { Mnemonic.Vaddsubps, Mnemonic.Vaddsubpd, Mnemonic.Vhaddps, Mnemonic.Vhaddpd, Mnemonic.Vhsubps, Mnemonic.Vhsubpd })
        {
            MapVex(m, &AvxFloat.Horizontal);
        }

        MapVex(Mnemonic.Vdpps, &AvxFloat.DotProduct);
        MapVex(Mnemonic.Vdppd, &AvxFloat.DotProduct);
        foreach (var m in new[] { Mnemonic.Vmovaps, Mnemonic.Vmovapd, Mnemonic.Vmovups, Mnemonic.Vmovupd, Mnemonic.Vmovntps, Mnemonic.Vmovntpd })
        {
            MapVex(m, &AvxFloatMove.Move);
        }

        MapVex(Mnemonic.Vmovss, &AvxFloatMove.MoveScalar);
        MapVex(Mnemonic.Vmovsd, &AvxFloatMove.MoveScalar);
        foreach (var m in new[] { Mnemonic.Vmovlps, Mnemonic.Vmovlpd, Mnemonic.Vmovhps, Mnemonic.Vmovhpd, Mnemonic.Vmovhlps, Mnemonic.Vmovlhps })
        {
            MapVex(m, &AvxFloatMove.MoveHalf);
        }

        MapVex(Mnemonic.Vmovmskps, &AvxFloatMove.MoveMask);
        MapVex(Mnemonic.Vmovmskpd, &AvxFloatMove.MoveMask);
        MapVex(Mnemonic.Vmovsldup, &AvxFloatMove.Duplicate);
        MapVex(Mnemonic.Vmovshdup, &AvxFloatMove.Duplicate);
        MapVex(Mnemonic.Vmovddup, &AvxFloatMove.Duplicate);
        foreach (var m in new[] { Mnemonic.Vandps, Mnemonic.Vandpd, Mnemonic.Vandnps, Mnemonic.Vandnpd, Mnemonic.Vorps, Mnemonic.Vorpd, Mnemonic.Vxorps, Mnemonic.Vxorpd })
        {
            MapVex(m, &AvxFloatMove.Logic);
        }

        foreach (var m in new[] { Mnemonic.Vshufps, Mnemonic.Vshufpd, Mnemonic.Vunpcklps, Mnemonic.Vunpckhps, Mnemonic.Vunpcklpd, Mnemonic.Vunpckhpd })
        {
            MapVex(m, &AvxFloatMove.Shuffle);
        }

        foreach (var m in new[] { Mnemonic.Vblendps, Mnemonic.Vblendpd, Mnemonic.Vblendvps, Mnemonic.Vblendvpd })
        {
            MapVex(m, &AvxFloatMove.Blend);
        }

        MapVex(Mnemonic.Vinsertps, &AvxFloatMove.Insertps);
        MapVex(Mnemonic.Vextractps, &AvxFloatMove.Extractps);
        MapVex(Mnemonic.Vcvtsi2ss, &AvxFloatConvert.FromInteger);
        MapVex(Mnemonic.Vcvtsi2sd, &AvxFloatConvert.FromInteger);
        foreach (var m in new[] { Mnemonic.Vcvtss2si, Mnemonic.Vcvttss2si, Mnemonic.Vcvtsd2si, Mnemonic.Vcvttsd2si })
        {
            MapVex(m, &AvxFloatConvert.ToInteger);
        }

        MapVex(Mnemonic.Vcvtss2sd, &AvxFloatConvert.Scalar);
        MapVex(Mnemonic.Vcvtsd2ss, &AvxFloatConvert.Scalar);
        foreach (var m in new[]
        {
            Mnemonic.Vcvtps2pd, Mnemonic.Vcvtpd2ps, Mnemonic.Vcvtdq2ps, Mnemonic.Vcvtps2dq, Mnemonic.Vcvttps2dq, Mnemonic.Vcvtdq2pd,
            Mnemonic.Vcvtpd2dq, Mnemonic.Vcvttpd2dq,
        })
        {
            MapVex(m, &AvxFloatConvert.Packed);
        }

        MapVex(Mnemonic.Vbroadcastss, &AvxPermute.Broadcast);
        MapVex(Mnemonic.Vbroadcastsd, &AvxPermute.Broadcast);
        MapVex(Mnemonic.Vbroadcastf128, &AvxPermute.Broadcast);
        MapVex(Mnemonic.Vinsertf128, &Avx2Integer.Insert128);
        MapVex(Mnemonic.Vextractf128, &Avx2Integer.Extract128);
        MapVex(Mnemonic.Vperm2f128, &Avx2Integer.Permute);
        MapVex(Mnemonic.Vpermilps, &AvxPermute.PermuteInLane);
        MapVex(Mnemonic.Vpermilpd, &AvxPermute.PermuteInLane);
        MapVex(Mnemonic.Vpermps, &AvxPermute.PermuteCrossLane);
        MapVex(Mnemonic.Vpermpd, &AvxPermute.PermuteCrossLane);
        MapVex(Mnemonic.Vmaskmovps, &Avx2Integer.MaskedMove);
        MapVex(Mnemonic.Vmaskmovpd, &Avx2Integer.MaskedMove);
        MapVex(Mnemonic.Vtestps, &AvxPermute.Test);
        MapVex(Mnemonic.Vtestpd, &AvxPermute.Test);
        MapVex(Mnemonic.Vzeroupper, &AvxPermute.Zero);
        MapVex(Mnemonic.Vzeroall, &AvxPermute.Zero);
        MapVex(Mnemonic.Vldmxcsr, &AvxPermute.LoadStoreMxcsr);
        MapVex(Mnemonic.Vstmxcsr, &AvxPermute.LoadStoreMxcsr);
        // FMA3 and F16C (Fma.cs, HalfFloat.cs); not in CPUID yet.
        foreach (Mnemonic fma in Fma.Mnemonics)
        {
            MapVex(fma, &Fma.Execute);
        }

        MapVex(Mnemonic.Vcvtph2ps, &HalfFloat.Vcvtph2ps);
        MapVex(Mnemonic.Vcvtps2ph, &HalfFloat.Vcvtps2ph);

        // Stack (Stack.cs)
        Map(Mnemonic.Push, &Stack.Push);
        Map(Mnemonic.Pop, &Stack.Pop);
        Map(Mnemonic.Pushf, &Stack.Pushf);
        Map(Mnemonic.Pushfd, &Stack.Pushf);
        Map(Mnemonic.Pushfq, &Stack.Pushf);
        Map(Mnemonic.Popf, &Stack.Popf);
        Map(Mnemonic.Popfd, &Stack.Popf);
        Map(Mnemonic.Popfq, &Stack.Popf);
        Map(Mnemonic.Pusha, &Stack.Pusha);
        Map(Mnemonic.Pushad, &Stack.Pusha);
        Map(Mnemonic.Popa, &Stack.Popa);
        Map(Mnemonic.Popad, &Stack.Popa);
        Map(Mnemonic.Leave, &Stack.Leave);
        Map(Mnemonic.Enter, &Stack.Enter);

        // Control transfer (Branch.cs)
        MapWhere(code => code.IsJmpShortOrNear() || code.IsJmpNearIndirect(), &Branch.JmpNear);
        MapWhere(code => code.IsJmpFar() || code.IsJmpFarIndirect(), &FarBranch.JmpFar);
        MapWhere(code => code.IsJccShortOrNear(), &Branch.Jcc);
        MapWhere(code => code.IsJcxShort(), &Branch.Jcxz);
        MapWhere(code => code.IsLoop() || code.IsLoopcc(), &Branch.Loop);
        MapWhere(code => code.IsCallNear() || code.IsCallNearIndirect(), &Branch.CallNear);
        MapWhere(code => code.IsCallFar() || code.IsCallFarIndirect(), &FarBranch.CallFar);
        Map(Mnemonic.Ret, &Branch.RetNear);
        Map(Mnemonic.Retf, &FarBranch.RetFar);
        Map(Mnemonic.Int, &Branch.Int);
        Map(Mnemonic.Int3, &Branch.Int);
        Map(Mnemonic.Into, &Branch.Int);
        Map(Mnemonic.Int1, &Branch.Int);
        Map(Mnemonic.Iret, &FarBranch.Iret);
        Map(Mnemonic.Iretd, &FarBranch.Iret);
        Map(Mnemonic.Iretq, &FarBranch.Iret);

        // String instructions (StringOps.cs); by Code, since SSE reuses the MOVSD and CMPSD mnemonics.
        MapWhere(code => code.IsStringInstruction() && code.Mnemonic() is Mnemonic.Movsb or Mnemonic.Movsw or Mnemonic.Movsd or Mnemonic.Movsq, &StringOps.Movs);
        MapWhere(code => code.IsStringInstruction() && code.Mnemonic() is Mnemonic.Stosb or Mnemonic.Stosw or Mnemonic.Stosd or Mnemonic.Stosq, &StringOps.Stos);
        MapWhere(code => code.IsStringInstruction() && code.Mnemonic() is Mnemonic.Lodsb or Mnemonic.Lodsw or Mnemonic.Lodsd or Mnemonic.Lodsq, &StringOps.Lods);
        MapWhere(code => code.IsStringInstruction() && code.Mnemonic() is Mnemonic.Cmpsb or Mnemonic.Cmpsw or Mnemonic.Cmpsd or Mnemonic.Cmpsq, &StringOps.Cmps);
        MapWhere(code => code.IsStringInstruction() && code.Mnemonic() is Mnemonic.Scasb or Mnemonic.Scasw or Mnemonic.Scasd or Mnemonic.Scasq, &StringOps.Scas);
        MapWhere(code => code.IsStringInstruction() && code.Mnemonic() is Mnemonic.Insb or Mnemonic.Insw or Mnemonic.Insd, &StringOps.Ins);
        MapWhere(code => code.IsStringInstruction() && code.Mnemonic() is Mnemonic.Outsb or Mnemonic.Outsw or Mnemonic.Outsd, &StringOps.Outs);

        // System (SystemOps.cs)
        Set(Code.Hlt, &SystemOps.Hlt);
        Set(Code.Cli, &SystemOps.Cli);
        Set(Code.Sti, &SystemOps.Sti);
        Map(Mnemonic.In, &SystemOps.In);
        Map(Mnemonic.Out, &SystemOps.Out);
        Map(Mnemonic.Lgdt, &SystemOps.LoadTable);
        Map(Mnemonic.Lidt, &SystemOps.LoadTable);
        Map(Mnemonic.Sgdt, &SystemOps.StoreTable);
        Map(Mnemonic.Sidt, &SystemOps.StoreTable);
        Set(Code.Mov_cr_r32, &SystemOps.MovToCr);
        Set(Code.Mov_cr_r64, &SystemOps.MovToCr);
        Set(Code.Mov_r32_cr, &SystemOps.MovFromCr);
        Set(Code.Mov_r64_cr, &SystemOps.MovFromCr);
        Set(Code.Mov_r32_dr, &DebugRegisterOps.MovFromDr);
        Set(Code.Mov_r64_dr, &DebugRegisterOps.MovFromDr);
        Set(Code.Mov_dr_r32, &DebugRegisterOps.MovToDr);
        Set(Code.Mov_dr_r64, &DebugRegisterOps.MovToDr);
        Set(Code.Mov_r32_tr, &SystemOps.Ud);
        Set(Code.Mov_tr_r32, &SystemOps.Ud);
        Set(Code.Mov_Sreg_rm16, &SystemOps.MovToSreg);
        Set(Code.Mov_Sreg_r32m16, &SystemOps.MovToSreg);
        Set(Code.Mov_Sreg_r64m16, &SystemOps.MovToSreg);
        Set(Code.Mov_rm16_Sreg, &SystemOps.MovFromSreg);
        Set(Code.Mov_r32m16_Sreg, &SystemOps.MovFromSreg);
        Set(Code.Mov_r64m16_Sreg, &SystemOps.MovFromSreg);
        Map(Mnemonic.Lds, &SystemOps.LoadFarPointer);
        Map(Mnemonic.Les, &SystemOps.LoadFarPointer);
        Map(Mnemonic.Lfs, &SystemOps.LoadFarPointer);
        Map(Mnemonic.Lgs, &SystemOps.LoadFarPointer);
        Map(Mnemonic.Lss, &SystemOps.LoadFarPointer);
        Map(Mnemonic.Ltr, &SystemOps.LoadSystemSegment);
        Map(Mnemonic.Lldt, &SystemOps.LoadSystemSegment);
        Map(Mnemonic.Str, &SystemOps.StoreSystemSegment);
        Map(Mnemonic.Sldt, &SystemOps.StoreSystemSegment);
        Map(Mnemonic.Lmsw, &SystemOps.Lmsw);
        Map(Mnemonic.Smsw, &SystemOps.Smsw);
        Set(Code.Clts, &SystemOps.Clts);

        // Pointer validation and fast system calls (Protection.cs, FastSystemCall.cs)
        Map(Mnemonic.Lar, &Protection.Lar);
        Map(Mnemonic.Lsl, &Protection.Lsl);
        Map(Mnemonic.Verr, &Protection.Verify);
        Map(Mnemonic.Verw, &Protection.Verify);
        Map(Mnemonic.Arpl, &Protection.Arpl);
        Set(Code.Sysenter, &FastSystemCall.Sysenter);
        Set(Code.Sysexitd, &FastSystemCall.Sysexit);
        Set(Code.Sysexitq, &FastSystemCall.Sysexit);
        Set(Code.Syscall, &FastSystemCall.Syscall);
        Set(Code.Sysretd, &FastSystemCall.Sysret);
        Set(Code.Sysretq, &FastSystemCall.Sysret);
        Set(Code.Swapgs, &FastSystemCall.Swapgs);
        Map(Mnemonic.Invlpg, &PagingOps.Invlpg);
        Map(Mnemonic.Invpcid, &PagingOps.Invpcid);
        Set(Code.Stac, &PagingOps.StacClac);
        Set(Code.Clac, &PagingOps.StacClac);
        Set(Code.Wbinvd, &SystemOps.CacheControl);
        Set(Code.Invd, &SystemOps.CacheControl);
        Set(Code.Rdmsr, &SystemOps.Rdmsr);
        Set(Code.Wrmsr, &SystemOps.Wrmsr);
        Set(Code.Cpuid, &SystemOps.Cpuid);
        Set(Code.Rdtsc, &SystemOps.Rdtsc);
        Set(Code.Rdtscp, &SystemOps.Rdtscp);
        Set(Code.Ud2, &SystemOps.Ud);
        Map(Mnemonic.Ud0, &SystemOps.Ud);
        Map(Mnemonic.Ud1, &SystemOps.Ud);
        Map(Mnemonic.Rdrand, &Random.Rdrand);
        Map(Mnemonic.Rdseed, &Random.Rdrand);
        Map(Mnemonic.Prefetchw, &Move.Nop);
        Map(Mnemonic.Prefetch, &Move.Nop);
        Set(Code.Cmpxchg8b_m64, &SystemOps.Cmpxchg8b);
        Set(Code.Cmpxchg16b_m128, &SystemOps.Cmpxchg8b);

        // x87 FPU (X87Arith.cs, X87Move.cs, X87Compare.cs, X87Control.cs, X87Transcendental.cs).
        Map(Mnemonic.Fadd, &X87Arith.Fadd);
        Map(Mnemonic.Faddp, &X87Arith.Fadd);
        Map(Mnemonic.Fiadd, &X87Arith.Fadd);
        Map(Mnemonic.Fmul, &X87Arith.Fmul);
        Map(Mnemonic.Fmulp, &X87Arith.Fmul);
        Map(Mnemonic.Fimul, &X87Arith.Fmul);
        Map(Mnemonic.Fsub, &X87Arith.Fsub);
        Map(Mnemonic.Fsubp, &X87Arith.Fsub);
        Map(Mnemonic.Fisub, &X87Arith.Fsub);
        Map(Mnemonic.Fsubr, &X87Arith.Fsubr);
        Map(Mnemonic.Fsubrp, &X87Arith.Fsubr);
        Map(Mnemonic.Fisubr, &X87Arith.Fsubr);
        Map(Mnemonic.Fdiv, &X87Arith.Fdiv);
        Map(Mnemonic.Fdivp, &X87Arith.Fdiv);
        Map(Mnemonic.Fidiv, &X87Arith.Fdiv);
        Map(Mnemonic.Fdivr, &X87Arith.Fdivr);
        Map(Mnemonic.Fdivrp, &X87Arith.Fdivr);
        Map(Mnemonic.Fidivr, &X87Arith.Fdivr);
        Map(Mnemonic.Fsqrt, &X87Arith.Fsqrt);
        Map(Mnemonic.Frndint, &X87Arith.Frndint);
        Map(Mnemonic.Fabs, &X87Arith.Fabs);
        Map(Mnemonic.Fchs, &X87Arith.Fchs);
        Map(Mnemonic.Fscale, &X87Arith.Fscale);
        Map(Mnemonic.Fxtract, &X87Arith.Fxtract);
        Map(Mnemonic.Fprem, &X87Arith.Fprem);
        Map(Mnemonic.Fprem1, &X87Arith.Fprem);
        Map(Mnemonic.Fld, &X87Move.Fld);
        Map(Mnemonic.Fild, &X87Move.Fld);
        Map(Mnemonic.Fbld, &X87Move.Fld);
        Map(Mnemonic.Fld1, &X87Move.Fld1);
        Map(Mnemonic.Fldz, &X87Move.Fldz);
        Map(Mnemonic.Fldpi, &X87Move.Fldpi);
        Map(Mnemonic.Fldl2e, &X87Move.Fldl2e);
        Map(Mnemonic.Fldl2t, &X87Move.Fldl2t);
        Map(Mnemonic.Fldlg2, &X87Move.Fldlg2);
        Map(Mnemonic.Fldln2, &X87Move.Fldln2);
        Map(Mnemonic.Fst, &X87Move.Fst);
        Map(Mnemonic.Fstp, &X87Move.Fst);
        Map(Mnemonic.Fstpnce, &X87Move.Fst);
        Map(Mnemonic.Fist, &X87Move.Fst);
        Map(Mnemonic.Fistp, &X87Move.Fst);
        Map(Mnemonic.Fisttp, &X87Move.Fst);
        Map(Mnemonic.Fbstp, &X87Move.Fst);
        Map(Mnemonic.Fxch, &X87Move.Fxch);
        MapWhere(code => code.Mnemonic().ToString().StartsWith("Fcmov", StringComparison.Ordinal), &X87Move.Fcmov);
        Map(Mnemonic.Ffree, &X87Move.Ffree);
        Map(Mnemonic.Ffreep, &X87Move.Ffree);
        Map(Mnemonic.Fincstp, &X87Move.Fincstp);
        Map(Mnemonic.Fdecstp, &X87Move.Fincstp);
        Map(Mnemonic.Fnop, &X87Move.Fnop);
        MapWhere(code => code.Mnemonic() is Mnemonic.Fcom or Mnemonic.Fcomp or Mnemonic.Fcompp or Mnemonic.Fucom or Mnemonic.Fucomp or Mnemonic.Fucompp
            or Mnemonic.Ficom or Mnemonic.Ficomp or Mnemonic.Fcomi or Mnemonic.Fcomip or Mnemonic.Fucomi or Mnemonic.Fucomip, &X87Compare.Fcom);
        Map(Mnemonic.Ftst, &X87Compare.Ftst);
        Map(Mnemonic.Fxam, &X87Compare.Fxam);
        Map(Mnemonic.Finit, &X87Control.Finit);
        Map(Mnemonic.Fninit, &X87Control.Finit);
        Map(Mnemonic.Fclex, &X87Control.Fclex);
        Map(Mnemonic.Fnclex, &X87Control.Fclex);
        Map(Mnemonic.Fldcw, &X87Control.Fldcw);
        Map(Mnemonic.Fstcw, &X87Control.Fstcw);
        Map(Mnemonic.Fnstcw, &X87Control.Fstcw);
        Map(Mnemonic.Fstsw, &X87Control.Fstsw);
        Map(Mnemonic.Fnstsw, &X87Control.Fstsw);
        Map(Mnemonic.Fldenv, &X87Control.Fldenv);
        Map(Mnemonic.Fstenv, &X87Control.Fstenv);
        Map(Mnemonic.Fnstenv, &X87Control.Fstenv);
        Map(Mnemonic.Fsave, &X87Control.Fsave);
        Map(Mnemonic.Fnsave, &X87Control.Fsave);
        Map(Mnemonic.Frstor, &X87Control.Frstor);
        Map(Mnemonic.Fneni, &X87Control.Fnop);
        Map(Mnemonic.Feni, &X87Control.Fnop);
        Map(Mnemonic.Fndisi, &X87Control.Fnop);
        Map(Mnemonic.Fdisi, &X87Control.Fnop);
        Map(Mnemonic.Fnsetpm, &X87Control.Fnop);
        Map(Mnemonic.Fsetpm, &X87Control.Fnop);
        Set(Code.Wait, &X87Control.Fwait);
        Map(Mnemonic.Fsin, &X87Transcendental.Trig);
        Map(Mnemonic.Fcos, &X87Transcendental.Trig);
        Map(Mnemonic.Fsincos, &X87Transcendental.Trig);
        Map(Mnemonic.Fptan, &X87Transcendental.Trig);
        Map(Mnemonic.Fpatan, &X87Transcendental.Binary);
        Map(Mnemonic.Fyl2x, &X87Transcendental.Binary);
        Map(Mnemonic.Fyl2xp1, &X87Transcendental.Binary);
        Map(Mnemonic.F2xm1, &X87Transcendental.F2xm1);
        Set(Code.INVALID, &SystemOps.Ud);

        // SSE/SSE2/SSE3/SSE4.1 floating point, MXCSR and state saving (SseFloat.cs, SseMove.cs,
        // SseConvert.cs, SaveState.cs). By Code where a mnemonic is shared with the string forms.
        Map(Mnemonic.Addps, &SseFloat.Addps);
        Map(Mnemonic.Addss, &SseFloat.Addss);
        Map(Mnemonic.Addpd, &SseFloat.Addpd);
        Map(Mnemonic.Addsd, &SseFloat.Addsd);
        Map(Mnemonic.Subps, &SseFloat.Subps);
        Map(Mnemonic.Subss, &SseFloat.Subss);
        Map(Mnemonic.Subpd, &SseFloat.Subpd);
        Map(Mnemonic.Subsd, &SseFloat.Subsd);
        Map(Mnemonic.Mulps, &SseFloat.Mulps);
        Map(Mnemonic.Mulss, &SseFloat.Mulss);
        Map(Mnemonic.Mulpd, &SseFloat.Mulpd);
        Map(Mnemonic.Mulsd, &SseFloat.Mulsd);
        Map(Mnemonic.Divps, &SseFloat.Divps);
        Map(Mnemonic.Divss, &SseFloat.Divss);
        Map(Mnemonic.Divpd, &SseFloat.Divpd);
        Map(Mnemonic.Divsd, &SseFloat.Divsd);
        Map(Mnemonic.Minps, &SseFloat.Minps);
        Map(Mnemonic.Minss, &SseFloat.Minss);
        Map(Mnemonic.Minpd, &SseFloat.Minpd);
        Map(Mnemonic.Minsd, &SseFloat.Minsd);
        Map(Mnemonic.Maxps, &SseFloat.Maxps);
        Map(Mnemonic.Maxss, &SseFloat.Maxss);
        Map(Mnemonic.Maxpd, &SseFloat.Maxpd);
        Map(Mnemonic.Maxsd, &SseFloat.Maxsd);
        Map(Mnemonic.Sqrtps, &SseFloat.Sqrtps);
        Map(Mnemonic.Sqrtss, &SseFloat.Sqrtss);
        Map(Mnemonic.Sqrtpd, &SseFloat.Sqrtpd);
        Map(Mnemonic.Sqrtsd, &SseFloat.Sqrtsd);
        Map(Mnemonic.Cmpps, &SseFloat.Cmpps);
        Map(Mnemonic.Cmpss, &SseFloat.Cmpss);
        Map(Mnemonic.Cmppd, &SseFloat.Cmppd);
        Set(Code.Cmpsd_xmm_xmmm64_imm8, &SseFloat.Cmpsd);
        Map(Mnemonic.Comiss, &SseFloat.Comiss);
        Map(Mnemonic.Ucomiss, &SseFloat.Ucomiss);
        Map(Mnemonic.Comisd, &SseFloat.Comisd);
        Map(Mnemonic.Ucomisd, &SseFloat.Ucomisd);
        Map(Mnemonic.Rcpps, &SseFloat.Rcpps);
        Map(Mnemonic.Rcpss, &SseFloat.Rcpss);
        Map(Mnemonic.Rsqrtps, &SseFloat.Rsqrtps);
        Map(Mnemonic.Rsqrtss, &SseFloat.Rsqrtss);
        Map(Mnemonic.Roundps, &SseFloat.Roundps);
        Map(Mnemonic.Roundss, &SseFloat.Roundss);
        Map(Mnemonic.Roundpd, &SseFloat.Roundpd);
        Map(Mnemonic.Roundsd, &SseFloat.Roundsd);
        Map(Mnemonic.Addsubps, &SseFloat.Addsubps);
        Map(Mnemonic.Addsubpd, &SseFloat.Addsubpd);
        Map(Mnemonic.Haddps, &SseFloat.Haddps);
        Map(Mnemonic.Haddpd, &SseFloat.Haddpd);
        Map(Mnemonic.Hsubps, &SseFloat.Hsubps);
        Map(Mnemonic.Hsubpd, &SseFloat.Hsubpd);
        Map(Mnemonic.Dpps, &SseFloat.Dpps);
        Map(Mnemonic.Dppd, &SseFloat.Dppd);
        Map(Mnemonic.Movaps, &SseMove.Move128);
        Map(Mnemonic.Movups, &SseMove.Move128);
        Map(Mnemonic.Movapd, &SseMove.Move128);
        Map(Mnemonic.Movupd, &SseMove.Move128);
        Map(Mnemonic.Movntps, &SseMove.Move128);
        Map(Mnemonic.Movntpd, &SseMove.Move128);
        Map(Mnemonic.Lddqu, &SseMove.Move128);
        Map(Mnemonic.Movss, &SseMove.MoveScalar);
        Set(Code.Movsd_xmm_xmmm64, &SseMove.MoveScalar);
        Set(Code.Movsd_xmmm64_xmm, &SseMove.MoveScalar);
        Map(Mnemonic.Movlps, &SseMove.MoveHalf);
        Map(Mnemonic.Movhps, &SseMove.MoveHalf);
        Map(Mnemonic.Movlpd, &SseMove.MoveHalf);
        Map(Mnemonic.Movhpd, &SseMove.MoveHalf);
        Map(Mnemonic.Movhlps, &SseMove.MoveHalf);
        Map(Mnemonic.Movlhps, &SseMove.MoveHalf);
        Map(Mnemonic.Movmskps, &SseMove.MoveMask);
        Map(Mnemonic.Movmskpd, &SseMove.MoveMask);
        Map(Mnemonic.Movsldup, &SseMove.Duplicate);
        Map(Mnemonic.Movshdup, &SseMove.Duplicate);
        Map(Mnemonic.Movddup, &SseMove.Duplicate);
        Map(Mnemonic.Andps, &SseMove.Logic);
        Map(Mnemonic.Andnps, &SseMove.Logic);
        Map(Mnemonic.Orps, &SseMove.Logic);
        Map(Mnemonic.Xorps, &SseMove.Logic);
        Map(Mnemonic.Andpd, &SseMove.Logic);
        Map(Mnemonic.Andnpd, &SseMove.Logic);
        Map(Mnemonic.Orpd, &SseMove.Logic);
        Map(Mnemonic.Xorpd, &SseMove.Logic);
        Map(Mnemonic.Shufps, &SseMove.Shuffle);
        Map(Mnemonic.Shufpd, &SseMove.Shuffle);
        Map(Mnemonic.Unpcklps, &SseMove.Shuffle);
        Map(Mnemonic.Unpckhps, &SseMove.Shuffle);
        Map(Mnemonic.Unpcklpd, &SseMove.Shuffle);
        Map(Mnemonic.Unpckhpd, &SseMove.Shuffle);
        Map(Mnemonic.Blendps, &SseMove.Blend);
        Map(Mnemonic.Blendpd, &SseMove.Blend);
        Map(Mnemonic.Blendvps, &SseMove.Blend);
        Map(Mnemonic.Blendvpd, &SseMove.Blend);
        Map(Mnemonic.Insertps, &SseMove.Insertps);
        Map(Mnemonic.Extractps, &SseMove.Extractps);
        Map(Mnemonic.Movnti, &SseMove.Movnti);
        Map(Mnemonic.Sfence, &SseMove.Fence);
        Map(Mnemonic.Lfence, &SseMove.Fence);
        Map(Mnemonic.Mfence, &SseMove.Fence);
        Map(Mnemonic.Prefetchnta, &SseMove.Fence);
        Map(Mnemonic.Prefetcht0, &SseMove.Fence);
        Map(Mnemonic.Prefetcht1, &SseMove.Fence);
        Map(Mnemonic.Prefetcht2, &SseMove.Fence);
        Map(Mnemonic.Clflush, &SseMove.Clflush);
        Map(Mnemonic.Cvtsi2ss, &SseConvert.Cvtsi2sx);
        Map(Mnemonic.Cvtsi2sd, &SseConvert.Cvtsi2sx);
        Map(Mnemonic.Cvtss2si, &SseConvert.Cvtsx2si);
        Map(Mnemonic.Cvttss2si, &SseConvert.Cvtsx2si);
        Map(Mnemonic.Cvtsd2si, &SseConvert.Cvtsx2si);
        Map(Mnemonic.Cvttsd2si, &SseConvert.Cvtsx2si);
        Map(Mnemonic.Cvtps2pd, &SseConvert.Packed);
        Map(Mnemonic.Cvtpd2ps, &SseConvert.Packed);
        Map(Mnemonic.Cvtss2sd, &SseConvert.Packed);
        Map(Mnemonic.Cvtsd2ss, &SseConvert.Packed);
        Map(Mnemonic.Cvtdq2ps, &SseConvert.Packed);
        Map(Mnemonic.Cvtps2dq, &SseConvert.Packed);
        Map(Mnemonic.Cvttps2dq, &SseConvert.Packed);
        Map(Mnemonic.Cvtdq2pd, &SseConvert.Packed);
        Map(Mnemonic.Cvtpd2dq, &SseConvert.Packed);
        Map(Mnemonic.Cvttpd2dq, &SseConvert.Packed);
        Map(Mnemonic.Cvtpi2ps, &SseConvert.FromMmx);
        Map(Mnemonic.Cvtpi2pd, &SseConvert.FromMmx);
        Map(Mnemonic.Cvtps2pi, &SseConvert.ToMmx);
        Map(Mnemonic.Cvttps2pi, &SseConvert.ToMmx);
        Map(Mnemonic.Cvtpd2pi, &SseConvert.ToMmx);
        Map(Mnemonic.Cvttpd2pi, &SseConvert.ToMmx);
        Map(Mnemonic.Ldmxcsr, &SaveState.Ldmxcsr);
        Map(Mnemonic.Stmxcsr, &SaveState.Stmxcsr);
        Map(Mnemonic.Fxsave, &SaveState.Fxsave);
        Map(Mnemonic.Fxsave64, &SaveState.Fxsave);
        Map(Mnemonic.Fxrstor, &SaveState.Fxrstor);
        Map(Mnemonic.Fxrstor64, &SaveState.Fxrstor);
        Map(Mnemonic.Xsave, &SaveState.Xsave);
        Map(Mnemonic.Xsave64, &SaveState.Xsave);
        Map(Mnemonic.Xsaveopt, &SaveState.Xsave);
        Map(Mnemonic.Xsaveopt64, &SaveState.Xsave);
        Map(Mnemonic.Xsavec, &SaveState.Xsave);
        Map(Mnemonic.Xsavec64, &SaveState.Xsave);
        Map(Mnemonic.Xrstor, &SaveState.Xrstor);
        Map(Mnemonic.Xrstor64, &SaveState.Xrstor);
        Set(Code.Xgetbv, &SaveState.Xgetbv);
        Set(Code.Xsetbv, &SaveState.Xsetbv);
        return t;
    }

    /// <summary>The row of every instruction not implemented yet: #UD in the guest, one log line per Code.</summary>
    public static void Unimplemented(X86Cpu c, in Instruction i)
    {
        c.ReportUnimplemented(i);
        c.RaiseFault(Exceptions.Vector.UD);
    }
}
