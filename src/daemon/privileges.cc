#include "ferry/daemon/privileges.h"

#include <grp.h>
#include <pwd.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace ferry {
namespace {

constexpr cap_value_t kKept[] = {CAP_NET_ADMIN, CAP_NET_BIND_SERVICE, CAP_SYS_NICE};

Status errnoFailure(const std::string& what) {
  return Status::failure(what + ": " + std::strerror(errno));
}

template <class T>
std::optional<T> number(const std::string& text) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

}  // namespace

Result<Identity> resolveIdentity(const std::string& user, const std::optional<std::string>& group) {
  Identity who;
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found_user = nullptr;
  if (getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found_user) == 0 && found_user) {
    who.uid = pw.pw_uid;
    who.gid = pw.pw_gid;
  } else if (auto uid = number<uid_t>(user)) {
    who.uid = *uid;
    who.gid = *uid;
  } else {
    return Result<Identity>::failure("user '" + user + "' does not exist");
  }
  if (group) {
    ::group gr{};
    ::group* found_group = nullptr;
    if (getgrnam_r(group->c_str(), &gr, buf.data(), buf.size(), &found_group) == 0 && found_group) {
      who.gid = gr.gr_gid;
    } else if (auto gid = number<gid_t>(*group)) {
      who.gid = *gid;
    } else {
      return Result<Identity>::failure("group '" + *group + "' does not exist");
    }
  }
  return who;
}

std::vector<std::string> keptCapabilityNames() {
  std::vector<std::string> out;
  for (const cap_value_t c : kKept) {
    char* name = cap_to_name(c);
    out.emplace_back(name ? name : std::to_string(c));
    cap_free(name);
  }
  return out;
}

Status dropPrivileges(const Identity& who) {
  // Which of the kept ones this process has at all.
  cap_t current = cap_get_proc();
  if (current == nullptr) return errnoFailure("cap_get_proc");
  std::vector<cap_value_t> keep;
  for (const cap_value_t c : kKept) {
    cap_flag_value_t has = CAP_CLEAR;
    if (cap_get_flag(current, c, CAP_PERMITTED, &has) == 0 && has == CAP_SET) keep.push_back(c);
  }
  cap_free(current);

  if (geteuid() != who.uid || getegid() != who.gid) {
    // Keep the permitted set across the uid change; trimmed below.
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return errnoFailure("prctl(PR_SET_KEEPCAPS)");
    if (setgroups(0, nullptr) != 0) return errnoFailure("setgroups");
    if (setresgid(who.gid, who.gid, who.gid) != 0)
      return errnoFailure("setresgid(" + std::to_string(who.gid) + ")");
    if (setresuid(who.uid, who.uid, who.uid) != 0)
      return errnoFailure("setresuid(" + std::to_string(who.uid) + ")");
    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  }

  cap_t caps = cap_init();  // all clear
  if (caps == nullptr) return errnoFailure("cap_init");
  Status set;
  if (!keep.empty() &&
      (cap_set_flag(caps, CAP_PERMITTED, int(keep.size()), keep.data(), CAP_SET) != 0 ||
       cap_set_flag(caps, CAP_EFFECTIVE, int(keep.size()), keep.data(), CAP_SET) != 0 ||
       cap_set_flag(caps, CAP_INHERITABLE, int(keep.size()), keep.data(), CAP_SET) != 0))
    set = errnoFailure("cap_set_flag");
  if (set && cap_set_proc(caps) != 0) set = errnoFailure("cap_set_proc");
  cap_free(caps);
  if (!set) return set;
  // Ambient: an upgrade's re-exec of ferryd (SIGUSR2) keeps them too.
  if (cap_reset_ambient() != 0) return errnoFailure("cap_reset_ambient");
  for (const cap_value_t c : keep)
    if (cap_set_ambient(c, CAP_SET) != 0) return errnoFailure("cap_set_ambient");
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return errnoFailure("prctl(PR_SET_NO_NEW_PRIVS)");
  return {};
}

}  // namespace ferry
