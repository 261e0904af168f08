// SPDX-License-Identifier: Apache-2.0
// The daemon's lifetime: its components start together, and stop together on a signal.
#pragma once

#include <atomic>
#include <memory>
#include <string_view>
#include <vector>

namespace buttervolume {

/// Something the daemon runs for its whole life beside the others: the plugin server now, the
/// scheduler loop and the metrics listener later. Each runs in threads of its own.
class ServiceComponent {
public:
    virtual ~ServiceComponent() = default;
    /// What to call it in the log ("plugin server").
    virtual std::string_view name() const = 0;
    /// Starts serving and returns. Throws when it cannot start; it then holds nothing.
    virtual void start() = 0;
    /// Asks it to stop; it finishes the work in flight. Called once, after start() returned;
    /// harmless when it has ended by itself already.
    virtual void stop() = 0;
    /// Waits until it has stopped and released what it holds; called once, after stop() or
    /// after ended() turned true.
    virtual void join() = 0;
    /// True once it has ended by itself (a failure, which it has logged), without stop().
    virtual bool ended() const = 0;
};

/// Owns the process's stop signals and the lifetime of its components. Construct it before
/// any thread exists: it blocks SIGTERM and SIGINT, so every thread started later inherits
/// the mask and the signals reach only run(). SIGHUP is ignored.
class Service {
public:
    Service();
    Service(const Service&) = delete;
    Service& operator=(const Service&) = delete;

    /// Adds a component; components start in the order added and stop in reverse.
    void add(std::unique_ptr<ServiceComponent> component);

    /// Starts every component, then waits for SIGTERM, SIGINT, request_stop() or a component
    /// that ends by itself; then stops and joins every component. Returns the exit status: 0
    /// when asked to stop, 1 when a component ended by itself. When a component fails to
    /// start, stops those already started and rethrows.
    int run();

    /// Makes run() stop everything as a signal would. Safe from any thread.
    void request_stop() { stop_requested_ = true; }

private:
    bool wait_for_stop();
    void stop_all(std::size_t started);

    std::vector<std::unique_ptr<ServiceComponent>> components_;
    std::atomic<bool> stop_requested_{false};
};

} // namespace buttervolume
