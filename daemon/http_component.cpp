// SPDX-License-Identifier: Apache-2.0
// HttpServerComponent: the accept loop's thread, and a stop that waits until httplib can take it.
#include "http_component.hpp"

#include <httplib.h>

#include <chrono>

namespace buttervolume {

void HttpServerComponent::serve(httplib::Server& svr)
{
    svr_ = &svr;
    thread_ = std::thread([this] {
        clean_ = svr_->listen_after_bind();
        listen_returned_ = true;
    });
}

void HttpServerComponent::stop()
{
    stopping_ = true;
    // httplib's stop() acts only once the accept loop runs; a stop right at start waits for it.
    while (!svr_->is_running() && !listen_returned_)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    halt();
}

void HttpServerComponent::halt()
{
    svr_->stop();
}

void HttpServerComponent::join()
{
    if (thread_.joinable())
        thread_.join();
    release(stopping_, clean_);
}

bool HttpServerComponent::ended() const
{
    return listen_returned_ && !stopping_;
}

void HttpServerComponent::shut_down()
{
    if (thread_.joinable()) {
        stop();
        join();
    }
}

} // namespace buttervolume
