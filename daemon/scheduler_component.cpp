// SPDX-License-Identifier: Apache-2.0
// SchedulerComponent: the library's Scheduler started and stopped with the plugin server.
#include "scheduler_component.hpp"

#include "common/log.hpp"

#include <fmt/format.h>

#include <cstdlib>

namespace buttervolume {

namespace {

common::LogLevel level_of(SchedulerLogLevel l)
{
    switch (l) {
    case SchedulerLogLevel::Debug:
        return common::LogLevel::Debug;
    case SchedulerLogLevel::Info:
        return common::LogLevel::Info;
    case SchedulerLogLevel::Warn:
        return common::LogLevel::Warn;
    case SchedulerLogLevel::Error:
        return common::LogLevel::Error;
    }
    return common::LogLevel::Info;
}

} // namespace

SchedulerComponent::SchedulerComponent(Pool& pool, SchedulerOptions options) : pool_(pool), options_(std::move(options))
{
    options_.log = [](SchedulerLogLevel level, const std::string& line) {
        if (common::log_enabled(level_of(level)))
            common::log_line(level_of(level), line);
    };
}

void SchedulerComponent::start()
{
    scheduler_ = std::make_unique<Scheduler>(pool_, options_);
    scheduler_->start();
    common::log_line(common::LogLevel::Info,
                     fmt::format("scheduler: ticking every {} s, {} workers",
                                 std::chrono::duration_cast<std::chrono::seconds>(options_.tick).count(),
                                 options_.workers));
}

void SchedulerComponent::stop()
{
    if (scheduler_)
        scheduler_->stop();
}

void SchedulerComponent::join()
{
    if (scheduler_ && !scheduler_->join()) {
        // A job that does not end (an ssh past its own timeouts) must not keep the daemon
        // alive after SIGTERM: exit now, as the service manager's SIGKILL would a little later.
        common::log_line(common::LogLevel::Error, "exiting with jobs still running");
        std::_Exit(1);
    }
    scheduler_.reset();
}

} // namespace buttervolume
