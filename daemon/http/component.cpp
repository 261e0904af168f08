// SPDX-License-Identifier: Apache-2.0
// HttpServerComponent: the accept loop's thread, its stop and its end.
#include "http/component.hpp"

#include "http/bounded_server.hpp"

namespace buttervolume::http {

void HttpServerComponent::serve(BoundedServer& svr, int listening_fd, bool owned)
{
    svr_ = &svr;
    thread_ = std::thread([this, listening_fd, owned] {
        clean_ = svr_->serve(listening_fd, owned);
        serve_returned_ = true;
    });
}

void HttpServerComponent::stop()
{
    stopping_ = true;
    svr_->halt();
}

void HttpServerComponent::join()
{
    if (thread_.joinable())
        thread_.join();
    release(stopping_, clean_);
}

bool HttpServerComponent::ended() const
{
    return serve_returned_ && !stopping_;
}

void HttpServerComponent::shut_down()
{
    if (thread_.joinable()) {
        stop();
        join();
    }
}

} // namespace buttervolume::http
