// SPDX-License-Identifier: Apache-2.0
// BV_EXPORT marks the symbols libbuttervolume exports (it is built with hidden visibility).
#pragma once

#define BV_EXPORT __attribute__((visibility("default")))
