#include "ferry/daemon/announce.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "ferry/control/log.h"

namespace ferry {
namespace {

// MNL_SOCKET_BUFFER_SIZE is a run-time value (the page size); 8 KiB holds
// any one request or acknowledgement sent here.
constexpr size_t kNetlinkBuffer = 8192;

// One rtnetlink request and its acknowledgement; fails with strerror of the
// kernel's answer, unless that answer is `ignored` (an errno value).
Status request(nlmsghdr* message, int ignored = 0) {
  mnl_socket* nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (nl == nullptr) return Status::failure(std::string("netlink socket: ") + std::strerror(errno));
  std::string why;
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    why = std::string("netlink bind: ") + std::strerror(errno);
  } else {
    message->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    message->nlmsg_seq = 1;
    const unsigned port = mnl_socket_get_portid(nl);
    if (mnl_socket_sendto(nl, message, message->nlmsg_len) < 0) {
      why = std::string("netlink send: ") + std::strerror(errno);
    } else {
      alignas(nlmsghdr) char buf[kNetlinkBuffer];
      const ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
      if (n < 0) why = std::string("netlink receive: ") + std::strerror(errno);
      else if (mnl_cb_run(buf, size_t(n), 1, port, nullptr, nullptr) < 0 && errno != ignored)
        why = std::strerror(errno);
    }
  }
  mnl_socket_close(nl);
  if (!why.empty()) return Status::failure(why);
  return {};
}

struct Parsed {
  int family = 0;
  unsigned char bytes[16] = {};
  unsigned char length = 0;
};

bool parse(const std::string& text, Parsed& out) {
  const size_t slash = text.find('/');
  const std::string host = text.substr(0, slash);
  if (inet_pton(AF_INET, host.c_str(), out.bytes) == 1) {
    out.family = AF_INET;
    out.length = 32;
    return true;
  }
  if (inet_pton(AF_INET6, host.c_str(), out.bytes) == 1) {
    out.family = AF_INET6;
    out.length = 128;
    return true;
  }
  return false;
}

Status linkUp(int ifindex) {
  alignas(nlmsghdr) char buf[kNetlinkBuffer];
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_NEWLINK;
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = ifindex;
  ifi->ifi_flags = IFF_UP;
  ifi->ifi_change = IFF_UP;
  return request(nlh);
}

// Adds or removes one host address. Adding one that is there, or removing
// one that is not, is no error (gating and takeovers repeat themselves).
Status address(int ifindex, const std::string& text, bool add) {
  Parsed a;
  if (!parse(text, a)) return Status::failure("'" + text + "' is not an address");
  alignas(nlmsghdr) char buf[kNetlinkBuffer];
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
  if (add) nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = uint8_t(a.family);
  ifa->ifa_prefixlen = a.length;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = uint32_t(ifindex);
  // A service address is usable at once: no duplicate address detection.
  ifa->ifa_flags = a.family == AF_INET6 ? IFA_F_NODAD : 0;
  const size_t bytes = a.family == AF_INET ? 4 : 16;
  mnl_attr_put(nlh, IFA_LOCAL, bytes, a.bytes);
  mnl_attr_put(nlh, IFA_ADDRESS, bytes, a.bytes);
  const Status done = request(nlh, add ? 0 : EADDRNOTAVAIL);
  if (!done)
    return Status::failure(std::string(add ? "adding " : "removing ") + text + ": " + done.error());
  return {};
}

}  // namespace

Status Announcement::create(const AnnounceConfig& config, bool with_addresses) {
  std::lock_guard lock(mu_);
  config_ = config;
  Fd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
  if (!fd)
    return Status::failure("announce: cannot open /dev/net/tun: " +
                           std::string(std::strerror(errno)));
  ifreq ifr{};
  // Layer 3, no packet-information header; not persistent, so the device
  // goes when the last descriptor closes.
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  std::strncpy(ifr.ifr_name, config.device.c_str(), IFNAMSIZ - 1);
  if (::ioctl(fd.get(), TUNSETIFF, &ifr) != 0) {
    const int err = errno;
    std::string why = "announce: cannot create TUN device '" + config.device + "': " + std::strerror(err);
    if (err == EBUSY)
      why += " (a device of that name exists and is in use: another ferryd, or not a TUN device)";
    else if (err == EPERM)
      why += " (needs CAP_NET_ADMIN)";
    return Status::failure(why);
  }
  ifindex_ = int(if_nametoindex(config.device.c_str()));
  if (ifindex_ == 0)
    return Status::failure("announce: device '" + config.device + "' vanished after creation");
  fd_ = std::move(fd);
  if (const Status up = linkUp(ifindex_); !up)
    return Status::failure("announce: bringing '" + config.device + "' up: " + up.error());
  if (!with_addresses) return {};
  if (Status added = addressesLocked(true, config_.addresses); !added) return added;
  announced_ = true;
  return {};
}

Status Announcement::adopt(Fd fd, const AnnounceConfig& config, const AnnounceConfig* previous,
                           bool with_addresses) {
  std::lock_guard lock(mu_);
  config_ = config;
  ifindex_ = int(if_nametoindex(config.device.c_str()));
  if (ifindex_ == 0)
    return Status::failure("announce: handed-over device '" + config.device + "' not found");
  fd_ = std::move(fd);
  if (previous != nullptr) {
    std::vector<std::string> dropped;
    for (const auto& a : previous->addresses)
      if (std::find(config.addresses.begin(), config.addresses.end(), a) == config.addresses.end())
        dropped.push_back(a);
    if (Status removed = addressesLocked(false, dropped); !removed) return removed;
  }
  if (const Status up = linkUp(ifindex_); !up)
    return Status::failure("announce: bringing '" + config.device + "' up: " + up.error());
  // With gating, what the old process announced stays until this one's
  // BFD thread decides (the liveness it takes over says the same).
  if (with_addresses) {
    if (Status added = addressesLocked(true, config_.addresses); !added) return added;
    announced_ = true;
  } else {
    announced_ = previous != nullptr && !previous->addresses.empty();
  }
  return {};
}

Status Announcement::addressesLocked(bool add, const std::vector<std::string>& addresses) {
  for (const auto& a : addresses)
    if (const Status done = address(ifindex_, a, add); !done)
      return Status::failure("announce: device '" + config_.device + "': " + done.error());
  return {};
}

Status Announcement::setAnnounced(bool on) {
  std::lock_guard lock(mu_);
  if (!fd_ || on == announced_) return {};
  Status done = addressesLocked(on, config_.addresses);
  if (done) announced_ = on;
  return done;
}

void Announcement::close() {
  std::lock_guard lock(mu_);
  fd_ = Fd();
  announced_ = false;
}

bool Announcement::active() const {
  std::lock_guard lock(mu_);
  return bool(fd_);
}

bool Announcement::announced() const {
  std::lock_guard lock(mu_);
  return announced_;
}

int Announcement::fd() const {
  std::lock_guard lock(mu_);
  return fd_.get();
}

}  // namespace ferry
