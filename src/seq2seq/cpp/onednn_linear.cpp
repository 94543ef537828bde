// Two libtorch operators that tch does not bind: oneDNN's prepacked linear layer
// (`mkldnn::_reorder_linear_weight` and `mkldnn::_linear_pointwise`, what PyTorch's own
// `torch.compile` CPU path calls). They are registered in libtorch_cpu through the operator
// dispatcher, not as at:: functions, so they are looked up by name and called boxed. See
// src/seq2seq/onednn.rs for why and how they are used.
//
// Tensors cross the boundary as tch does it: an `at::Tensor*` the caller owns. Errors are
// returned as a message in `error` (never thrown across the C boundary).

#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>

#include <cstring>
#include <exception>
#include <string>

namespace {

void write_error(const std::exception &e, char *error, size_t error_len) {
  if (error_len == 0) return;
  std::strncpy(error, e.what(), error_len - 1);
  error[error_len - 1] = '\0';
}

at::Tensor call(const char *name, torch::jit::Stack stack) {
  auto op = c10::Dispatcher::singleton().findSchemaOrThrow(name, "");
  op.callBoxed(&stack);
  return stack.at(0).toTensor();
}

}  // namespace

extern "C" {

// Whether this libtorch registers the two operators (builds without oneDNN do not).
int newsgist_onednn_linear_available() {
  auto &dispatcher = c10::Dispatcher::singleton();
  return dispatcher.findOp({"mkldnn::_reorder_linear_weight", ""}).has_value() &&
         dispatcher.findOp({"mkldnn::_linear_pointwise", ""}).has_value();
}

// `weight` (out, in), float32 and dense, in oneDNN's blocked layout for its inner product.
at::Tensor *newsgist_onednn_pack_weight(const at::Tensor *weight, char *error, size_t error_len) {
  try {
    return new at::Tensor(call("mkldnn::_reorder_linear_weight", {*weight, c10::IValue()}));
  } catch (const std::exception &e) {
    write_error(e, error, error_len);
    return nullptr;
  }
}

// `input (..., in) packed^T + bias`, dense in and out; `bias` may be null.
at::Tensor *newsgist_onednn_linear(const at::Tensor *input, const at::Tensor *packed, const at::Tensor *bias,
                                   char *error, size_t error_len) {
  try {
    c10::IValue bias_value = bias ? c10::IValue(*bias) : c10::IValue();
    return new at::Tensor(call("mkldnn::_linear_pointwise",
                               {*input, *packed, bias_value, std::string("none"),
                                c10::List<std::optional<at::Scalar>>(), c10::IValue()}));
  } catch (const std::exception &e) {
    write_error(e, error, error_len);
    return nullptr;
  }
}

}  // extern "C"
