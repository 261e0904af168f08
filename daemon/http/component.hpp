// SPDX-License-Identifier: Apache-2.0
// HttpServerComponent: a component of the Service that is one BoundedServer's accept loop on a thread of its own.
#pragma once

#include "service.hpp"

#include <atomic>
#include <thread>

namespace buttervolume::http {

class BoundedServer;

/// What the plugin server and the metrics listener share. start() sets the server up, binds it
/// and hands it to serve(); stop() asks the accept loop to end, join() waits for it, and ended()
/// is true once the loop ended without stop() (a failure, which release() logs).
class HttpServerComponent : public ServiceComponent {
public:
    void stop() final;
    void join() final;
    bool ended() const final;

protected:
    /// Runs svr.serve(listening_fd, owned) on the component's thread: the last step of
    /// start(). svr belongs to the derived class and must live until join() returned.
    void serve(BoundedServer& svr, int listening_fd, bool owned);
    /// Stops and joins when still serving. For the destructor of the derived class: the base
    /// destructor runs after the server it serves is gone.
    void shut_down();

private:
    /// What join() does once the accept loop's thread ended: releases what start() took, and logs the failure unless
    /// stopped. clean: what serve() returned.
    virtual void release(bool stopped, bool clean) = 0;

    BoundedServer* svr_ = nullptr;
    std::thread thread_;
    std::atomic<bool> serve_returned_{false};
    std::atomic<bool> stopping_{false};
    bool clean_ = false;
};

} // namespace buttervolume::http
