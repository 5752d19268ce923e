// A classic-BPF interpreter for the reuseport steering programs, as the
// kernel runs them on a UDP socket: offset 0 is the first payload byte,
// SKF_NET_OFF + k reads the IP header, SKF_AD_OFF + SKF_AD_CPU the receiving
// CPU, BPF_LEN the payload length; a load outside the packet ends the
// program with 0. It also checks what the kernel's checker would refuse
// (backward or out-of-range jumps, a last instruction that is not a return,
// division by a constant 0, scratch memory read before it is written).
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ferry::test {

struct CbpfPacket {
  std::vector<uint8_t> bytes;  // IP header, UDP header, payload
  size_t payload_at = 0;       // where the payload starts in `bytes`
  uint32_t cpu = 0;
};

struct CbpfResult {
  uint32_t value = 0;
  std::string error;  // "" when the program ran to a return
};

// "" when the kernel's classic-BPF checker would accept `program` (the
// checks that matter for these programs).
inline std::string checkCbpf(const std::vector<sock_filter>& program) {
  if (program.empty() || program.size() > BPF_MAXINSNS) return "bad length";
  for (size_t pc = 0; pc < program.size(); ++pc) {
    const sock_filter& f = program[pc];
    if (BPF_CLASS(f.code) == BPF_JMP) {
      const size_t far = BPF_OP(f.code) == BPF_JA ? size_t(f.k) : std::max<size_t>(f.jt, f.jf);
      if (pc + 1 + far >= program.size()) return "jump out of range at " + std::to_string(pc);
    }
    if (BPF_CLASS(f.code) == BPF_ALU && BPF_SRC(f.code) == BPF_K &&
        (BPF_OP(f.code) == BPF_DIV || BPF_OP(f.code) == BPF_MOD) && f.k == 0)
      return "division by 0 at " + std::to_string(pc);
    if ((f.code == (BPF_LD | BPF_MEM) || f.code == (BPF_LDX | BPF_MEM) || f.code == BPF_ST ||
         f.code == BPF_STX) &&
        f.k >= BPF_MEMWORDS)
      return "bad scratch slot at " + std::to_string(pc);
  }
  if (BPF_CLASS(program.back().code) != BPF_RET) return "last instruction is not a return";
  return {};
}

inline CbpfResult runCbpf(const std::vector<sock_filter>& program, const CbpfPacket& p) {
  uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {};
  uint32_t written = 0;  // scratch slots written so far
  const int64_t payload_len = int64_t(p.bytes.size()) - int64_t(p.payload_at);
  // The bytes at `k` (data offset, or SKF_NET_OFF + header offset); false when outside.
  auto load = [&](int64_t k, unsigned size, uint32_t* out) {
    int64_t at;
    if (k >= 0)
      at = int64_t(p.payload_at) + k;
    else if (k >= SKF_NET_OFF && k < SKF_AD_OFF)
      at = k - SKF_NET_OFF;
    else
      return false;
    if (at < 0 || at + size > int64_t(p.bytes.size())) return false;
    uint32_t v = 0;
    for (unsigned i = 0; i < size; ++i) v = v << 8 | p.bytes[size_t(at) + i];
    *out = v;
    return true;
  };
  size_t pc = 0;
  for (size_t steps = 0; steps <= program.size(); ++steps) {
    if (pc >= program.size()) return {0, "ran off the end"};
    const sock_filter f = program[pc++];
    const uint16_t cls = BPF_CLASS(f.code);
    const uint32_t src = BPF_SRC(f.code) == BPF_X ? x : f.k;
    switch (cls) {
      case BPF_LD:
      case BPF_LDX: {
        const uint16_t mode = BPF_MODE(f.code);
        const unsigned size = BPF_SIZE(f.code) == BPF_W ? 4 : BPF_SIZE(f.code) == BPF_H ? 2 : 1;
        uint32_t v = 0;
        if (mode == BPF_IMM)
          v = f.k;
        else if (mode == BPF_LEN)
          v = uint32_t(payload_len);
        else if (mode == BPF_MEM) {
          if (!(written >> f.k & 1))
            return {0, "scratch slot read before written at " + std::to_string(pc - 1)};
          v = mem[f.k];
        } else if (mode == BPF_MSH) {
          if (!load(int32_t(f.k), 1, &v)) return {0, {}};
          v = (v & 0xf) << 2;
        } else if (mode == BPF_ABS && int32_t(f.k) == SKF_AD_OFF + SKF_AD_CPU) {
          v = p.cpu;
        } else if (mode == BPF_ABS || mode == BPF_IND) {
          const int64_t k = mode == BPF_ABS ? int64_t(int32_t(f.k)) : int64_t(int32_t(x + f.k));
          if (!load(k, size, &v)) return {0, {}};  // the kernel: the program returns 0
        } else {
          return {0, "unsupported load at " + std::to_string(pc - 1)};
        }
        (cls == BPF_LD ? a : x) = v;
        break;
      }
      case BPF_ST:
      case BPF_STX:
        mem[f.k] = cls == BPF_ST ? a : x;
        written |= 1u << f.k;
        break;
      case BPF_ALU:
        switch (BPF_OP(f.code)) {
          case BPF_ADD:
            a += src;
            break;
          case BPF_SUB:
            a -= src;
            break;
          case BPF_MUL:
            a *= src;
            break;
          case BPF_DIV:
            if (src == 0) return {0, {}};
            a /= src;
            break;
          case BPF_MOD:
            if (src == 0) return {0, {}};
            a %= src;
            break;
          case BPF_AND:
            a &= src;
            break;
          case BPF_OR:
            a |= src;
            break;
          case BPF_XOR:
            a ^= src;
            break;
          case BPF_LSH:
            a = src >= 32 ? 0 : a << src;
            break;
          case BPF_RSH:
            a = src >= 32 ? 0 : a >> src;
            break;
          case BPF_NEG:
            a = uint32_t(-int64_t(a));
            break;
          default:
            return {0, "unsupported ALU at " + std::to_string(pc - 1)};
        }
        break;
      case BPF_JMP: {
        bool taken = false;
        switch (BPF_OP(f.code)) {
          case BPF_JA:
            pc += f.k;
            continue;
          case BPF_JEQ:
            taken = a == src;
            break;
          case BPF_JGT:
            taken = a > src;
            break;
          case BPF_JGE:
            taken = a >= src;
            break;
          case BPF_JSET:
            taken = (a & src) != 0;
            break;
          default:
            return {0, "unsupported jump at " + std::to_string(pc - 1)};
        }
        pc += taken ? f.jt : f.jf;
        break;
      }
      case BPF_RET:
        return {BPF_RVAL(f.code) == BPF_A ? a : f.k, {}};
      case BPF_MISC:
        if (BPF_MISCOP(f.code) == BPF_TAX)
          x = a;
        else
          a = x;
        break;
      default:
        return {0, "unsupported class at " + std::to_string(pc - 1)};
    }
  }
  return {0, "did not end"};
}

}  // namespace ferry::test
