// FunctionRef: a non-owning, allocation-free reference to a callable.
//
// The parking lot runs caller-supplied callbacks while it holds bucket locks, on paths that must
// never allocate (a guest thread may be parked from inside a signal handler). std::function may
// allocate and owns its target; FunctionRef is two words and borrows it, like llvm::function_ref
// or WebKit's ScopedLambda. The referenced callable must outlive every call through the ref, which
// holds trivially for the lot's use: callbacks are passed down a call chain and never stored.
#pragma once

#include <type_traits>
#include <utility>

namespace futexbox::sync {

template <class Signature>
class FunctionRef;

template <class R, class... Args>
class FunctionRef<R(Args...)> {
 public:
  template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, FunctionRef> &&
             std::is_invocable_r_v<R, F&, Args...>)
  // NOLINTNEXTLINE(google-explicit-constructor): implicit by design, like std::function.
  FunctionRef(F&& f) noexcept
      : object_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_(&invoke<std::remove_reference_t<F>>) {}

  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

 private:
  template <class F>
  static R invoke(void* object, Args... args) {
    return (*static_cast<F*>(object))(std::forward<Args>(args)...);
  }

  void* object_;
  R (*call_)(void*, Args...);
};

}  // namespace futexbox::sync
