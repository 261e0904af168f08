// SPDX-License-Identifier: Apache-2.0
// The service: its components start in order, stop in reverse, and all stop together.
#include "../catch.hpp"

#include "service.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace buttervolume;

namespace {

struct Events {
    std::mutex mutex;
    std::vector<std::string> list;
    void add(std::string e)
    {
        std::lock_guard lock(mutex);
        list.push_back(std::move(e));
    }
};

// A component with a worker thread of its own, as the plugin server has; it can be told to
// fail at start or to end by itself after a while.
class Worker : public ServiceComponent {
public:
    Worker(std::string name, Events& events) : name_(std::move(name)), events_(events) {}
    bool fail_start = false;
    std::chrono::milliseconds end_after{0};

    std::string_view name() const override { return name_; }
    void start() override
    {
        if (fail_start)
            throw std::runtime_error(name_ + " cannot start");
        events_.add("start " + name_);
        thread_ = std::thread([this] {
            auto until = std::chrono::steady_clock::now() + end_after;
            while (!stop_) {
                if (end_after.count() && std::chrono::steady_clock::now() >= until) {
                    ended_ = true;
                    return;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
        });
    }
    void stop() override
    {
        events_.add("stop " + name_);
        stop_ = true;
    }
    void join() override
    {
        thread_.join();
        events_.add("join " + name_);
    }
    bool ended() const override { return ended_; }

private:
    std::string name_;
    Events& events_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> ended_{false};
};

} // namespace

TEST_CASE("service: a stop signal stops every component, last started first", "[service]")
{
    Events events;
    Service service;
    service.add(std::make_unique<Worker>("a", events));
    service.add(std::make_unique<Worker>("b", events));
    // SIGTERM is blocked in every thread since the Service exists: it waits for run().
    std::thread killer([] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        ::kill(::getpid(), SIGTERM);
    });
    CHECK(service.run() == 0);
    killer.join();
    CHECK(events.list == std::vector<std::string>{"start a", "start b", "stop b", "stop a", "join b", "join a"});
}

TEST_CASE("service: request_stop stops it as a signal would", "[service]")
{
    Events events;
    Service service;
    service.add(std::make_unique<Worker>("a", events));
    std::thread stopper([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        service.request_stop();
    });
    CHECK(service.run() == 0);
    stopper.join();
    CHECK(events.list == std::vector<std::string>{"start a", "stop a", "join a"});
}

TEST_CASE("service: a component that ends by itself stops the others, exit status 1", "[service]")
{
    Events events;
    Service service;
    service.add(std::make_unique<Worker>("a", events));
    auto b = std::make_unique<Worker>("b", events);
    b->end_after = std::chrono::milliseconds(30);
    service.add(std::move(b));
    CHECK(service.run() == 1);
    CHECK(events.list == std::vector<std::string>{"start a", "start b", "stop b", "stop a", "join b", "join a"});
}

TEST_CASE("service: a component that cannot start stops those started, and the error is thrown", "[service]")
{
    Events events;
    Service service;
    service.add(std::make_unique<Worker>("a", events));
    auto b = std::make_unique<Worker>("b", events);
    b->fail_start = true;
    service.add(std::move(b));
    service.add(std::make_unique<Worker>("c", events));
    CHECK_THROWS_WITH(service.run(), "b cannot start");
    CHECK(events.list == std::vector<std::string>{"start a", "stop a", "join a"});
}
