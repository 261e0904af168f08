// SPDX-License-Identifier: Apache-2.0
// Signals to one waiting thread, components started in order and stopped in reverse.
#include "service.hpp"

#include "common/log.hpp"

#include <fmt/format.h>

#include <pthread.h>
#include <signal.h>

#include <cstring>

namespace buttervolume {

namespace {
sigset_t stop_signals()
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    return set;
}
} // namespace

Service::Service()
{
    // Signals go to one waiting thread, not to whichever thread runs: block them before any
    // thread exists, so every component's threads inherit the mask.
    sigset_t set = stop_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    ::signal(SIGHUP, SIG_IGN);
}

void Service::add(std::unique_ptr<ServiceComponent> component)
{
    components_.push_back(std::move(component));
}

// True when asked to stop (a signal or request_stop), false when a component ended by itself.
bool Service::wait_for_stop()
{
    const sigset_t set = stop_signals();
    // The tick bounds how late a component that ended by itself, or request_stop(), is noticed.
    const timespec tick{0, 100'000'000};
    for (;;) {
        if (stop_requested_)
            return true;
        for (const auto& c : components_)
            if (c->ended())
                return false;
        siginfo_t info;
        int sig = ::sigtimedwait(&set, &info, &tick);
        if (sig > 0) {
            common::log_line(common::LogLevel::Info,
                             fmt::format("{} received: finishing requests in flight, then exiting", ::strsignal(sig)));
            return true;
        }
    }
}

void Service::stop_all(std::size_t started)
{
    for (std::size_t i = started; i-- > 0;)
        components_[i]->stop();
    for (std::size_t i = started; i-- > 0;)
        components_[i]->join();
}

int Service::run()
{
    std::size_t started = 0;
    try {
        for (; started < components_.size(); ++started)
            components_[started]->start();
    } catch (...) {
        stop_all(started);
        throw;
    }
    bool asked = wait_for_stop();
    stop_all(started);
    if (!asked)
        return 1;
    common::log_line(common::LogLevel::Info, "stopped");
    return 0;
}

} // namespace buttervolume
