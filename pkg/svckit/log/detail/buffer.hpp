#pragma once
// A growable byte buffer for encoders: unchecked appends after one ensure(), reused across lines.
#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace svckit::log {

class Buffer {
 public:
  explicit Buffer(std::size_t capacity = 1024) : data_(new char[capacity]), capacity_(capacity) {}
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void clear() noexcept { size_ = 0; }
  std::size_t size() const noexcept { return size_; }
  const char* data() const noexcept { return data_.get(); }
  std::string_view view() const noexcept { return {data_.get(), size_}; }

  void ensure(std::size_t extra) {
    if (size_ + extra > capacity_) grow(size_ + extra);
  }
  // Raw access for writers that called ensure(): write at tail(), then commit(n).
  char* tail() noexcept { return data_.get() + size_; }
  void commit(std::size_t n) noexcept { size_ += n; }

  void push(char c) {
    ensure(1);
    data_[size_++] = c;
  }
  void append(std::string_view s) {
    if (s.empty()) return;
    ensure(s.size());
    std::memcpy(data_.get() + size_, s.data(), s.size());
    size_ += s.size();
  }
  void unchecked_push(char c) noexcept { data_[size_++] = c; }
  void unchecked_append(std::string_view s) noexcept {
    if (s.empty()) return;
    std::memcpy(data_.get() + size_, s.data(), s.size());
    size_ += s.size();
  }
  void truncate(std::size_t n) noexcept {
    if (n < size_) size_ = n;
  }

 private:
  void grow(std::size_t need) {
    std::size_t cap = capacity_ * 2;
    while (cap < need) cap *= 2;
    std::unique_ptr<char[]> bigger(new char[cap]);
    std::memcpy(bigger.get(), data_.get(), size_);
    data_ = std::move(bigger);
    capacity_ = cap;
  }

  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0;
  std::size_t capacity_;
};

}  // namespace svckit::log
