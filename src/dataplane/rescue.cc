#include "ferry/dataplane/rescue.h"

#include <sys/eventfd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace ferry {

Result<std::unique_ptr<Rescue>> Rescue::create(std::vector<std::vector<int>> fds) {
  std::vector<Fd> wake;
  for (std::size_t d = 0; d < fds.size(); ++d) {
    // Blocking, as io_uring wants it: a read on an O_NONBLOCK eventfd would
    // complete at once with EAGAIN instead of waiting for a write.
    Fd fd(eventfd(0, EFD_CLOEXEC));
    if (!fd)
      return Result<std::unique_ptr<Rescue>>::failure("dataplane " + std::to_string(d) +
                                                      ": eventfd: " + std::strerror(errno));
    wake.push_back(std::move(fd));
  }
  return std::unique_ptr<Rescue>(new Rescue(std::move(fds), std::move(wake)));
}

}  // namespace ferry
