// Codecs: how typed values become the bytes of a call task's payload or result, and back (the
// role of mirai's serialization configs). Built in: std::string (as is), numbers (decimal text
// that reads back exactly), vectors of numbers (packed little-endian binary), and vectors of
// any type that has a codec. JSON is in mirai/json.hpp. Add your own type by specializing
// Codec (examples in docs/guide.md):
//
//   template <> struct mirai::Codec<Point> {
//     static std::string encode(const Point& p);
//     static Point decode(std::string_view bytes);  // throws mirai::DecodeError when malformed
//     static std::string name() { return "Point"; }  // optional: for messages
//   };
//
// A codec may also give `static std::string type_of(const T&)`: Map::flat then requires every
// value to have the same one (as mirai's .flat requires one R type).
#pragma once

#include <charconv>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace mirai {

// Thrown by a codec's decode() for bytes that are not a value of its type.
struct DecodeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <typename T, typename Enable = void>
struct Codec;  // no codec for this type: specialize mirai::Codec<T>

template <>
struct Codec<std::string> {
  static std::string encode(const std::string& s) { return s; }
  static std::string decode(std::string_view bytes) { return std::string(bytes); }
  static std::string name() { return "string"; }
};

namespace detail {

template <typename T>
std::string number_name() {
  if (std::is_same_v<T, bool>) return "bool";
  if (std::is_floating_point_v<T>) return sizeof(T) == 4 ? "float" : "double";
  return std::string(std::is_signed_v<T> ? "int" : "uint") + std::to_string(8 * sizeof(T));
}

inline std::string excerpt(std::string_view bytes) {
  std::string s(bytes.substr(0, 40));
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20) c = '?';
  return "'" + s + (bytes.size() > 40 ? "...'" : "'");
}

template <typename T, typename = void>
struct has_name : std::false_type {};
template <typename T>
struct has_name<T, std::void_t<decltype(Codec<T>::name())>> : std::true_type {};

template <typename T, typename = void>
struct has_type_of : std::false_type {};
template <typename T>
struct has_type_of<T, std::void_t<decltype(Codec<T>::type_of(std::declval<const T&>()))>>
    : std::true_type {};

}  // namespace detail

// The name of T in messages: the codec's name(), else "value".
template <typename T>
std::string codec_name() {
  if constexpr (detail::has_name<T>::value)
    return Codec<T>::name();
  else
    return "value";
}

// Numbers travel as decimal text, shortest form that reads back to the same value ("0.1",
// "42"), so shell tasks and the built-in functions can read and write them too.
template <typename T>
struct Codec<T, std::enable_if_t<std::is_arithmetic_v<T>>> {
  static std::string encode(T v) {
    if constexpr (std::is_same_v<T, bool>) {
      return v ? "true" : "false";
    } else {
      char buf[64];
      auto r = std::to_chars(buf, buf + sizeof buf, v);
      return std::string(buf, r.ptr);
    }
  }
  static T decode(std::string_view bytes) {
    std::string_view s = bytes;
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r'))
      s.remove_suffix(1);  // a shell command's trailing newline
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    if constexpr (std::is_same_v<T, bool>) {
      if (s == "true" || s == "1") return true;
      if (s == "false" || s == "0") return false;
    } else {
      if (!s.empty() && s.front() == '+') s.remove_prefix(1);
      T v{};
      auto r = std::from_chars(s.data(), s.data() + s.size(), v);
      if (r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty()) return v;
      if (r.ec == std::errc::result_out_of_range)
        throw DecodeError(detail::excerpt(bytes) + " is out of range for a " +
                          detail::number_name<T>());
    }
    throw DecodeError(detail::excerpt(bytes) + " is not a " + detail::number_name<T>());
  }
  static std::string name() { return detail::number_name<T>(); }
};

// Vectors of numbers: the elements packed as little-endian binary, with no header.
template <typename T>
struct Codec<std::vector<T>,
             std::enable_if_t<std::is_arithmetic_v<T> && !std::is_same_v<T, bool>>> {
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "packed vectors assume little-endian");
  static std::string encode(const std::vector<T>& v) {
    return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  }
  static std::vector<T> decode(std::string_view bytes) {
    if (bytes.size() % sizeof(T) != 0)
      throw DecodeError(std::to_string(bytes.size()) + " bytes are not a whole number of " +
                        detail::number_name<T>() + "s (" + std::to_string(sizeof(T)) +
                        " bytes each)");
    std::vector<T> v(bytes.size() / sizeof(T));
    if (!v.empty()) std::memcpy(v.data(), bytes.data(), bytes.size());
    return v;
  }
  static std::string name() { return "vector<" + detail::number_name<T>() + ">"; }
};

// Vectors of anything else with a codec: u32 count, then each element as u32 length + bytes.
template <typename T>
struct Codec<std::vector<T>,
             std::enable_if_t<!std::is_arithmetic_v<T> || std::is_same_v<T, bool>>> {
  static std::string encode(const std::vector<T>& v) {
    std::string out;
    put(out, static_cast<std::uint32_t>(v.size()));
    for (const auto& x : v) {
      std::string b = Codec<T>::encode(x);
      put(out, static_cast<std::uint32_t>(b.size()));
      out += b;
    }
    return out;
  }
  static std::vector<T> decode(std::string_view bytes) {
    std::uint32_t n = get(bytes);
    if (n > bytes.size() / 4)
      throw DecodeError("not a " + name() + ": it claims " + std::to_string(n) + " elements");
    std::vector<T> v;
    v.reserve(n);
    for (std::uint32_t i = 0; i < n; ++i) {
      std::uint32_t len = get(bytes);
      if (len > bytes.size())
        throw DecodeError("not a " + name() + ": element " + std::to_string(i) + " is cut short");
      v.push_back(Codec<T>::decode(bytes.substr(0, len)));
      bytes.remove_prefix(len);
    }
    if (!bytes.empty())
      throw DecodeError("not a " + name() + ": bytes left over after the last element");
    return v;
  }
  static std::string name() { return "vector<" + codec_name<T>() + ">"; }

 private:
  static void put(std::string& out, std::uint32_t n) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  }
  static std::uint32_t get(std::string_view& in) {
    if (in.size() < 4) throw DecodeError("not a " + name() + ": cut short");
    std::uint32_t n = 0;
    for (int i = 0; i < 4; ++i)
      n |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << (8 * i);
    in.remove_prefix(4);
    return n;
  }
};

template <typename T>
std::string encode(const T& value) {
  return Codec<T>::encode(value);
}

template <typename T>
T decode(std::string_view bytes) {
  return Codec<T>::decode(bytes);
}

}  // namespace mirai
