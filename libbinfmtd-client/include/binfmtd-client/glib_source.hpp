// binfmtd-client in a GLib main loop (GTK, gtkmm, GIO programs): a GSource that waits for
// the client's bus with the events and timeout it asks for (Client::pollData(), asked again
// before every wait) and dispatches it, on the loop's own thread. Replies to the *Async
// calls and the signal subscriptions then arrive as ordinary main-loop events; no thread.
// Header-only, so that the library itself needs no GLib: include it where GLib is used and
// link glib-2.0.
#pragma once

#include <glib.h>

#include <functional>
#include <utility>

#include "binfmtd-client/client.hpp"

namespace binfmtd::client {

namespace glib_detail {

struct Glue {
  Client* client;
  std::function<void(const Error&)> onError;
  gpointer tag = nullptr;
};

struct Source {
  GSource source;
  Glue* glue;
};

inline Glue& glue(GSource* s) { return *reinterpret_cast<Source*>(s)->glue; }

inline gboolean prepare(GSource* s, gint* timeout) {
  const PollData p = glue(s).client->pollData();
  // poll(2)'s POLLIN/POLLOUT/... are GLib's G_IO_IN/G_IO_OUT/... on Linux.
  g_source_modify_unix_fd(s, glue(s).tag, static_cast<GIOCondition>(p.events));
  *timeout = p.timeoutMsec();
  return *timeout == 0;
}

inline gboolean check(GSource* s) {
  return g_source_query_unix_fd(s, glue(s).tag) != 0 ||
         glue(s).client->pollData().timeoutMsec() == 0;
}

inline gboolean dispatch(GSource* s, GSourceFunc, gpointer) {
  try {
    glue(s).client->dispatch();
    return G_SOURCE_CONTINUE;
  } catch (const Error& e) {  // the connection is gone: nothing more will come
    if (glue(s).onError) glue(s).onError(e);
    return G_SOURCE_REMOVE;
  }
}

inline void finalize(GSource* s) { delete reinterpret_cast<Source*>(s)->glue; }

inline GSourceFuncs funcs = {prepare, check, dispatch, finalize, nullptr, nullptr};

}  // namespace glib_detail

/// Attaches `client` to `context` (nullptr: the default main context) and returns the
/// source; g_source_destroy() and g_source_unref() it before the Client goes. `onError` is
/// told when the bus connection fails for good (the source then removes itself).
inline GSource* attachToGlib(Client& client, GMainContext* context = nullptr,
                             std::function<void(const Error&)> onError = {}) {
  GSource* s = g_source_new(&glib_detail::funcs, sizeof(glib_detail::Source));
  auto* glue = new glib_detail::Glue{&client, std::move(onError)};
  reinterpret_cast<glib_detail::Source*>(s)->glue = glue;
  const PollData p = client.pollData();
  glue->tag = g_source_add_unix_fd(s, p.fd, static_cast<GIOCondition>(p.events));
  g_source_set_name(s, "binfmtd-client");
  g_source_attach(s, context);
  return s;
}

}  // namespace binfmtd::client
