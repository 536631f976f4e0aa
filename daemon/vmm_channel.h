// The VMM channel (ioasid/ioasidd.h): a Unix socket on which the preload
// library asks for what CUSE cannot hand a caller, a file. This is only the
// transport: one thread, SOCK_SEQPACKET messages, the sender's credentials
// and the fds that come and go. Which file a request gets is the handler's
// decision (the device node's, see DeviceNode::channel).
#pragma once

#include <sys/types.h>

#include <functional>
#include <list>
#include <string>
#include <vector>

#include "daemon/socket_thread.h"
#include "host/unique_fd.h"
#include "ioasid/ioasidd.h"

namespace ioasid::daemon {

class VmmChannel {
  public:
    // At most this many connections wait at once; more are closed on
    // arrival (each library request is one short connection).
    static constexpr size_t kMaxClients = 64;

    // Answers one well-formed request: `file` is the daemon's duplicate of
    // the fd that came with it, `peer` the sender's pid (SO_PEERCRED).
    // Returns 0 or -errno; on 0 `out` may hold a file for the sender.
    using Handler = std::function<int(int file, pid_t peer, const ioasidd_channel_request& req,
                                      ioasidd_channel_reply& reply, host::UniqueFd& out)>;

    VmmChannel(std::string path, Handler handler);
    ~VmmChannel();
    VmmChannel(const VmmChannel&) = delete;
    VmmChannel& operator=(const VmmChannel&) = delete;

    // Creates the socket (replacing a stale one), mode 0666: what a request
    // gets is decided by the file it carries and who sent it. -errno.
    int start();
    void stop();

  private:
    struct Client {
        host::UniqueFd fd;
        pid_t pid = 0;
    };

    Handler handler_;
    std::list<Client> clients_;  // the channel thread's alone
    SocketThread thread_;        // last: it stops before the rest goes

    void run();
    void accept_client();
    // One message: false once the connection is done with.
    bool serve(Client& c);
    int answer(const Client& c, const void* msg, ssize_t len, std::vector<host::UniqueFd>& fds,
               ioasidd_channel_reply& reply, host::UniqueFd& out);
};

}  // namespace ioasid::daemon
