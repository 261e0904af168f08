// SPDX-License-Identifier: Apache-2.0
// HttpServerComponent: a component of the Service that is one cpp-httplib accept loop on a thread of its own.
#pragma once

#include "service.hpp"

#include <atomic>
#include <thread>

namespace httplib {
class Server;
}

namespace buttervolume {

/// What the plugin server and the metrics listener share. start() sets the server up, binds it
/// and hands it to serve(); stop() asks the accept loop to end, join() waits for it, and ended()
/// is true once the loop ended without stop() (a failure, which release() logs).
class HttpServerComponent : public ServiceComponent {
public:
    void stop() final;
    void join() final;
    bool ended() const final;

protected:
    /// Runs svr.listen_after_bind() on the component's thread: the last step of start(). svr
    /// belongs to the derived class and must live until join() returned.
    void serve(httplib::Server& svr);
    /// Stops and joins when still serving. For the destructor of the derived class: the base
    /// destructor runs after the server it serves is gone.
    void shut_down();

private:
    /// What stop() does once the accept loop runs (httplib ignores a stop before): by default
    /// the server's stop().
    virtual void halt();
    /// What join() does once the accept loop's thread ended: releases what start() took, and
    /// logs the failure unless stopped. clean: what listen_after_bind() returned.
    virtual void release(bool stopped, bool clean) = 0;

    httplib::Server* svr_ = nullptr;
    std::thread thread_;
    std::atomic<bool> listen_returned_{false};
    std::atomic<bool> stopping_{false};
    bool clean_ = false;
};

} // namespace buttervolume
