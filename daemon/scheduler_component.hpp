// SPDX-License-Identifier: Apache-2.0
// The scheduler as a component of the daemon's Service, beside the plugin server, logging through the daemon's log.
#pragma once

#include "service.hpp"

#include <buttervolume/scheduler.hpp>

#include <memory>

namespace buttervolume {

class Pool;

/// Runs the pool's scheduled jobs (the library's Scheduler) for the daemon's life. On stop,
/// running jobs get options.stop_timeout to end; past it the process exits at once (status 1),
/// which leaves nothing half-made, and those jobs run again at the next start.
class SchedulerComponent : public ServiceComponent {
public:
    /// options.log is replaced by the daemon's log.
    SchedulerComponent(Pool& pool, SchedulerOptions options);
    std::string_view name() const override { return "scheduler"; }
    void start() override;
    void stop() override;
    void join() override;
    /// The tick loop survives every failure of a tick (it logs it): it never ends by itself.
    bool ended() const override { return false; }

private:
    Pool& pool_;
    SchedulerOptions options_;
    std::unique_ptr<Scheduler> scheduler_;
};

} // namespace buttervolume
