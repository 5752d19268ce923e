#include "ferry/steering.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace ferry {
namespace {

sock_filter stmt(uint16_t code, uint32_t k) { return BPF_STMT(code, k); }

// Jumps are patched after the program is laid out: labels are indices.
struct Builder {
  std::vector<sock_filter> code;
  struct Fix {
    size_t at;
    size_t true_label;
    size_t false_label;
  };
  std::vector<Fix> fixes;
  std::vector<size_t> labels;

  size_t label() {
    labels.push_back(SIZE_MAX);
    return labels.size() - 1;
  }
  void place(size_t l) { labels[l] = code.size(); }
  void emit(uint16_t c, uint32_t k) { code.push_back(stmt(c, k)); }
  // if (A == k) goto t else goto f
  void jeq(uint32_t k, size_t t, size_t f) {
    fixes.push_back({code.size(), t, f});
    code.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, k, 0, 0));
  }
  void jump(size_t l) {
    fixes.push_back({code.size(), l, SIZE_MAX});
    code.push_back(BPF_JUMP(BPF_JMP | BPF_JA, 0, 0, 0));
  }
  std::vector<sock_filter> finish() {
    for (const auto& f : fixes) {
      sock_filter& ins = code[f.at];
      if (BPF_OP(ins.code) == BPF_JA) {
        ins.k = uint32_t(labels[f.true_label] - f.at - 1);
      } else {
        ins.jt = uint8_t(labels[f.true_label] - f.at - 1);
        ins.jf = uint8_t(labels[f.false_label] - f.at - 1);
      }
    }
    return code;
  }
  // A ^= the 32-bit word at `offset` (X is clobbered).
  void xorWord(uint32_t offset) {
    emit(BPF_MISC | BPF_TAX, 0);
    emit(BPF_LD | BPF_W | BPF_ABS, offset);
    emit(BPF_ALU | BPF_XOR | BPF_X, 0);
  }
};

// Offset 0 is the first byte of the UDP payload (the kernel pulls the UDP
// header before running a reuseport program on a UDP socket).
std::vector<sock_filter> innerFlow(unsigned sockets) {
  Builder b;
  const size_t v4 = b.label(), not4 = b.label(), v6 = b.label(), v6_ports = b.label(),
               mix = b.label(), fallback = b.label();
  b.emit(BPF_LD | BPF_B | BPF_ABS, 0);
  b.emit(BPF_ALU | BPF_RSH | BPF_K, 4);
  b.jeq(4, v4, not4);
  b.place(not4);
  b.jeq(6, v6, fallback);

  // IPv4: source ^ destination ^ the 32 bits after the header (ports for TCP
  // and UDP; a flow-constant word for the rest). Fragments hash the same
  // only on the addresses, which is why the protocol is left out.
  b.place(v4);
  b.emit(BPF_LD | BPF_W | BPF_ABS, 12);
  b.xorWord(16);
  b.emit(BPF_ST, 0);
  b.emit(BPF_LDX | BPF_B | BPF_MSH, 0);        // X = 4 * IHL
  b.emit(BPF_LD | BPF_W | BPF_IND, 0);         // A = word at X: the ports
  b.emit(BPF_MISC | BPF_TAX, 0);
  b.emit(BPF_LD | BPF_MEM, 0);
  b.emit(BPF_ALU | BPF_XOR | BPF_X, 0);
  b.jump(mix);

  // IPv6: the eight address words, then the ports when the next header is
  // TCP (6) or UDP (17).
  b.place(v6);
  b.emit(BPF_LD | BPF_W | BPF_ABS, 8);
  for (uint32_t off = 12; off < 40; off += 4) b.xorWord(off);
  b.emit(BPF_ST, 0);
  b.emit(BPF_LD | BPF_B | BPF_ABS, 6);
  const size_t not_tcp = b.label(), no_ports = b.label();
  b.jeq(6, v6_ports, not_tcp);
  b.place(not_tcp);
  b.jeq(17, v6_ports, no_ports);
  b.place(v6_ports);
  b.emit(BPF_LD | BPF_MEM, 0);
  b.xorWord(40);
  b.jump(mix);
  b.place(no_ports);
  b.emit(BPF_LD | BPF_MEM, 0);

  // A murmur-style finish so that nearby addresses spread, then mod N.
  b.place(mix);
  for (int round = 0; round < 2; ++round) {
    b.emit(BPF_ST, 1);
    b.emit(BPF_ALU | BPF_RSH | BPF_K, 16);
    b.emit(BPF_MISC | BPF_TAX, 0);
    b.emit(BPF_LD | BPF_MEM, 1);
    b.emit(BPF_ALU | BPF_XOR | BPF_X, 0);
    b.emit(BPF_ALU | BPF_MUL | BPF_K, 0x45d9f3b);
  }
  b.emit(BPF_ST, 1);
  b.emit(BPF_ALU | BPF_RSH | BPF_K, 16);
  b.emit(BPF_MISC | BPF_TAX, 0);
  b.emit(BPF_LD | BPF_MEM, 1);
  b.emit(BPF_ALU | BPF_XOR | BPF_X, 0);
  b.emit(BPF_ALU | BPF_MOD | BPF_K, sockets);
  b.emit(BPF_RET | BPF_A, 0);

  b.place(fallback);
  b.emit(BPF_RET | BPF_K, 0xffffffff);  // out of range: the kernel's hash
  return b.finish();
}

std::vector<sock_filter> byCpu(const std::vector<int>& cpus) {
  std::vector<sock_filter> code;
  code.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, uint32_t(SKF_AD_OFF + SKF_AD_CPU)));
  // One compare per dataplane: "if A == cpu_i return i"; the first match wins
  // when several dataplanes share a CPU.
  for (size_t i = 0; i < cpus.size(); ++i) {
    code.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, uint32_t(cpus[i]), 0, 1));
    code.push_back(stmt(BPF_RET | BPF_K, uint32_t(i)));
  }
  code.push_back(stmt(BPF_RET | BPF_K, 0xffffffff));
  return code;
}

}  // namespace

std::vector<sock_filter> steeringProgram(Steering steering, unsigned sockets,
                                         const std::vector<int>& cpus) {
  switch (steering) {
    case Steering::Kernel: return {};
    case Steering::InnerFlow: return innerFlow(sockets);
    case Steering::Cpu: return byCpu(cpus);
  }
  return {};
}

std::string attachSteering(int fd, const std::vector<sock_filter>& program) {
  if (program.empty()) return {};
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(program.size());
  prog.filter = const_cast<sock_filter*>(program.data());
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog)) != 0)
    return std::string("SO_ATTACH_REUSEPORT_CBPF: ") + std::strerror(errno);
  return {};
}

}  // namespace ferry
