#include "ferry/net/steering.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace ferry {
namespace {

// Loads relative to the IP header (negative offsets, see linux/filter.h):
// the kernel runs a UDP socket's reuseport program with offset 0 at the
// first payload byte, the UDP header pulled off.
uint32_t net(uint32_t offset) { return uint32_t(SKF_NET_OFF) + offset; }

// Conditional jumps go at most one instruction (past an unconditional JA,
// which takes a 32-bit offset), so no layout can overflow cBPF's 8-bit
// jt/jf. Labels are indices, patched when the program is finished; every
// jump goes forward, as classic BPF requires.
struct Builder {
  std::vector<sock_filter> code;
  std::vector<std::pair<size_t, size_t>> fixes;  // (instruction, label)
  std::vector<size_t> labels;

  size_t label() {
    labels.push_back(SIZE_MAX);
    return labels.size() - 1;
  }
  void place(size_t l) { labels[l] = code.size(); }
  void emit(uint16_t c, uint32_t k = 0) { code.push_back(BPF_STMT(c, k)); }
  void jump(size_t l) {
    fixes.emplace_back(code.size(), l);
    code.push_back(BPF_JUMP(BPF_JMP | BPF_JA, 0, 0, 0));
  }
  // if (A <op> k) goto l; `op` is BPF_JEQ, BPF_JGE, ... with BPF_K or BPF_X.
  void jumpIf(uint16_t op, uint32_t k, size_t l) {
    code.push_back(BPF_JUMP(BPF_JMP | op, k, 0, 1));
    jump(l);
  }
  // if !(A <op> k) goto l
  void jumpUnless(uint16_t op, uint32_t k, size_t l) {
    code.push_back(BPF_JUMP(BPF_JMP | op, k, 1, 0));
    jump(l);
  }
  std::vector<sock_filter> finish() {
    for (const auto& [at, l] : fixes) {
      if (labels[l] == SIZE_MAX || labels[l] <= at) throw std::logic_error("steering: bad jump");
      code[at].k = uint32_t(labels[l] - at - 1);
    }
    if (code.size() > BPF_MAXINSNS)
      throw std::length_error("steering program of " + std::to_string(code.size()) +
                              " instructions, more than classic BPF's " +
                              std::to_string(BPF_MAXINSNS));
    return code;
  }
  // A ^= the 32-bit word at `offset` (X is clobbered).
  void xorWord(uint32_t offset) {
    emit(BPF_MISC | BPF_TAX);
    emit(BPF_LD | BPF_W | BPF_ABS, offset);
    emit(BPF_ALU | BPF_XOR | BPF_X);
  }
};

// Scratch memory: M[0] the address words, M[1] the mixer, M[2] the hash.
constexpr uint32_t kAddr = 0, kMix = 1, kHash = 2;

// The encapsulated flow: A = source ^ destination ^ the 32 bits after the
// header (ports for TCP and UDP; a flow-constant word for the rest), then
// goto `mix`. Fragments hash the same only on the addresses, which is why the
// protocol is left out. Anything else (not IPv4/IPv6, too short): `tuple`.
void innerFlow(Builder& b, size_t tuple, size_t mix) {
  const size_t v6 = b.label(), v6_ports = b.label(), v6_no_ports = b.label();
  b.emit(BPF_LD | BPF_B | BPF_ABS, 0);
  b.emit(BPF_ALU | BPF_RSH | BPF_K, 4);
  b.jumpIf(BPF_JEQ | BPF_K, 6, v6);
  b.jumpUnless(BPF_JEQ | BPF_K, 4, tuple);

  // IPv4: 20 bytes at least, and the header (4 * IHL) plus the ports.
  b.emit(BPF_LD | BPF_W | BPF_LEN);
  b.jumpUnless(BPF_JGE | BPF_K, 24, tuple);
  b.emit(BPF_LD | BPF_W | BPF_ABS, 12);
  b.xorWord(16);
  b.emit(BPF_ST, kAddr);
  b.emit(BPF_LDX | BPF_B | BPF_MSH, 0);  // X = 4 * IHL
  b.emit(BPF_LD | BPF_W | BPF_LEN);
  b.emit(BPF_ALU | BPF_SUB | BPF_K, 4);     // no wrap: len >= 24
  b.jumpUnless(BPF_JGE | BPF_X, 0, tuple);  // len - 4 >= 4 * IHL
  b.emit(BPF_LD | BPF_W | BPF_IND, 0);      // the ports
  b.emit(BPF_MISC | BPF_TAX);
  b.emit(BPF_LD | BPF_MEM, kAddr);
  b.emit(BPF_ALU | BPF_XOR | BPF_X);
  b.jump(mix);

  // IPv6: the eight address words, then the ports when the next header is
  // TCP (6) or UDP (17) and they are there.
  b.place(v6);
  b.emit(BPF_LD | BPF_W | BPF_LEN);
  b.jumpUnless(BPF_JGE | BPF_K, 40, tuple);
  b.emit(BPF_LD | BPF_W | BPF_ABS, 8);
  for (uint32_t off = 12; off < 40; off += 4) b.xorWord(off);
  b.emit(BPF_ST, kAddr);
  b.emit(BPF_LD | BPF_B | BPF_ABS, 6);
  b.jumpIf(BPF_JEQ | BPF_K, 6, v6_ports);
  b.jumpUnless(BPF_JEQ | BPF_K, 17, v6_no_ports);
  b.place(v6_ports);
  b.emit(BPF_LD | BPF_W | BPF_LEN);
  b.jumpUnless(BPF_JGE | BPF_K, 44, v6_no_ports);
  b.emit(BPF_LD | BPF_MEM, kAddr);
  b.xorWord(40);
  b.jump(mix);
  b.place(v6_no_ports);
  b.emit(BPF_LD | BPF_MEM, kAddr);
  b.jump(mix);
}

// The underlay 4-tuple from the IP and UDP headers: A = source address ^
// destination address ^ (source port << 16 | destination port); falls
// through to what follows (the mixer).
void underlayTuple(Builder& b, size_t mix) {
  const size_t v6 = b.label(), neither = b.label();
  b.emit(BPF_LD | BPF_B | BPF_ABS, net(0));
  b.emit(BPF_ALU | BPF_RSH | BPF_K, 4);
  b.jumpIf(BPF_JEQ | BPF_K, 6, v6);
  b.jumpUnless(BPF_JEQ | BPF_K, 4, neither);
  b.emit(BPF_LD | BPF_W | BPF_ABS, net(12));
  b.xorWord(net(16));
  b.emit(BPF_ST, kAddr);
  b.emit(BPF_LDX | BPF_B | BPF_MSH, net(0));  // X = 4 * IHL: the UDP header
  b.emit(BPF_LD | BPF_W | BPF_IND, net(0));
  b.emit(BPF_MISC | BPF_TAX);
  b.emit(BPF_LD | BPF_MEM, kAddr);
  b.emit(BPF_ALU | BPF_XOR | BPF_X);
  b.jump(mix);
  b.place(neither);  // not reached for a UDP socket; keeps the checker's paths whole
  b.emit(BPF_LD | BPF_IMM, 0);
  b.jump(mix);
  // IPv6: both addresses; the ports when no extension header comes first.
  b.place(v6);
  const size_t no_ports = b.label();
  b.emit(BPF_LD | BPF_W | BPF_ABS, net(8));
  for (uint32_t off = 12; off < 40; off += 4) b.xorWord(net(off));
  b.emit(BPF_ST, kAddr);
  b.emit(BPF_LD | BPF_B | BPF_ABS, net(6));
  b.jumpUnless(BPF_JEQ | BPF_K, 17, no_ports);
  b.emit(BPF_LD | BPF_MEM, kAddr);
  b.xorWord(net(40));
  b.jump(mix);
  b.place(no_ports);
  b.emit(BPF_LD | BPF_MEM, kAddr);
}

// A murmur-style finish so that nearby values spread.
void mixHash(Builder& b) {
  for (int round = 0; round < 3; ++round) {
    b.emit(BPF_ST, kMix);
    b.emit(BPF_ALU | BPF_RSH | BPF_K, 16);
    b.emit(BPF_MISC | BPF_TAX);
    b.emit(BPF_LD | BPF_MEM, kMix);
    b.emit(BPF_ALU | BPF_XOR | BPF_X);
    if (round < 2) b.emit(BPF_ALU | BPF_MUL | BPF_K, 0x45d9f3b);
  }
}

// A = the mixed hash: slot = hash % sockets, re-steered by `plan`.
void slotAndReturn(Builder& b, unsigned sockets, const SteeringPlan& plan) {
  if (!plan.moves()) {
    b.emit(BPF_ALU | BPF_MOD | BPF_K, sockets);
    b.emit(BPF_RET | BPF_A);
    return;
  }
  const size_t remap = b.label();
  b.emit(BPF_ST, kHash);
  b.emit(BPF_ALU | BPF_MOD | BPF_K, sockets);
  for (unsigned d = 0; d < sockets; ++d)
    if (plan.away[d]) b.jumpIf(BPF_JEQ | BPF_K, d, remap);
  b.emit(BPF_RET | BPF_A);
  // All of the hash's slot bits went into the slot: take the next ones, so
  // that the moved flows spread over every healthy dataplane.
  b.place(remap);
  const unsigned healthy = unsigned(plan.healthy.size());
  b.emit(BPF_LD | BPF_MEM, kHash);
  b.emit(BPF_ALU | BPF_DIV | BPF_K, sockets);
  b.emit(BPF_ALU | BPF_MOD | BPF_K, healthy);
  for (unsigned k = 0; k + 1 < healthy; ++k) {
    b.code.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, k, 0, 1));
    b.emit(BPF_RET | BPF_K, plan.healthy[k]);
  }
  b.emit(BPF_RET | BPF_K, plan.healthy[healthy - 1]);
}

}  // namespace

SteeringPlan planSteering(unsigned sockets, const std::vector<bool>& away) {
  SteeringPlan plan;
  plan.away.assign(sockets, false);
  for (unsigned d = 0; d < sockets; ++d)
    if (d >= away.size() || !away[d]) plan.healthy.push_back(d);
  if (plan.healthy.empty()) {  // every dataplane away: nowhere to go, nothing moves
    for (unsigned d = 0; d < sockets; ++d) plan.healthy.push_back(d);
    return plan;
  }
  for (unsigned d = 0; d < sockets; ++d) plan.away[d] = d < away.size() && away[d];
  return plan;
}

std::vector<sock_filter> steeringProgram(Steering steering, unsigned sockets,
                                         const std::vector<int>& cpus,
                                         const std::vector<bool>& away) {
  if (sockets == 0) throw std::invalid_argument("steering: no sockets");
  const SteeringPlan plan = planSteering(sockets, away);
  Builder b;
  const size_t tuple = b.label(), mix = b.label();
  switch (steering) {
    case Steering::kKernel:
      break;
    case Steering::kInnerFlow:
      innerFlow(b, tuple, mix);
      break;
    case Steering::kCpu:
      b.emit(BPF_LD | BPF_W | BPF_ABS, uint32_t(SKF_AD_OFF + SKF_AD_CPU));
      // One compare per dataplane: "if A == cpu_i return i"; the first match
      // wins when several dataplanes share a CPU. A dataplane that is away
      // sends its CPU's packets to the 4-tuple hash, which avoids it.
      for (unsigned d = 0; d < sockets && d < cpus.size(); ++d) {
        b.code.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, uint32_t(cpus[d]), 0, 1));
        if (plan.away[d])
          b.jump(tuple);
        else
          b.emit(BPF_RET | BPF_K, d);
      }
      break;
  }
  b.place(tuple);
  underlayTuple(b, mix);
  b.place(mix);
  mixHash(b);
  slotAndReturn(b, sockets, plan);
  return b.finish();
}

Status attachSteering(int fd, const std::vector<sock_filter>& program) {
  if (program.empty()) return {};
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(program.size());
  prog.filter = const_cast<sock_filter*>(program.data());
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog)) != 0)
    return Status::failure(std::string("SO_ATTACH_REUSEPORT_CBPF: ") + std::strerror(errno));
  return {};
}

}  // namespace ferry
