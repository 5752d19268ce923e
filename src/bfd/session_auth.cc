// Session authentication (RFC 5880 §6.7) and the transmit path that signs.
// Digests come from OpenSSL's libcrypto (EVP_Digest); nothing here is
// hand-written cryptography. Comparisons of secrets are constant-time.
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstring>

#include "ferry/bfd/session.h"

namespace ferry::bfd {
namespace {

// Offset of the Auth Key/Digest field in a packet with an MD5 or SHA1
// section: mandatory section, then Type, Len, Key ID, Reserved, Sequence.
constexpr size_t kDigestOffset = kMandatoryLength + 8;

bool isMeticulous(AuthType t) noexcept {
  return t == AuthType::kMeticulousKeyedMd5 || t == AuthType::kMeticulousKeyedSha1;
}

size_t digestLength(AuthType t) noexcept {
  switch (t) {
    case AuthType::kKeyedMd5:
    case AuthType::kMeticulousKeyedMd5:
      return kMd5DigestLength;
    case AuthType::kKeyedSha1:
    case AuthType::kMeticulousKeyedSha1:
      return kSha1DigestLength;
    default:
      return 0;
  }
}

// §6.7.3/§6.7.4: the digest of `packet` (Length bytes) with the key, zero
// padded to the digest length, in the Auth Key/Digest field. `packet` is a
// scratch copy; its digest field is overwritten. Returns false if libcrypto
// fails (it may allocate internally: auth is opt-in and off the data path).
bool digestWithKey(AuthType type, std::span<uint8_t> packet, std::span<const uint8_t> padded_key,
                   uint8_t* out) noexcept {
  const size_t n = digestLength(type);
  if (n == 0 || packet.size() < kDigestOffset + n || padded_key.size() < n) return false;
  std::memcpy(packet.data() + kDigestOffset, padded_key.data(), n);
  const EVP_MD* md = n == kMd5DigestLength ? EVP_md5() : EVP_sha1();
  unsigned int written = 0;
  if (EVP_Digest(packet.data(), packet.size(), out, &written, md, nullptr) != 1) return false;
  return written == n;
}

}  // namespace

RxDiscard Session::authenticate(const ControlPacket& packet, std::span<const uint8_t> wire,
                                Micros now) noexcept {
  const AuthSection& auth = packet.auth;
  if (auth.type != auth_type_) return RxDiscard::kAuthTypeMismatch;
  // The key the packet names: the one we send or one we also accept. A key
  // ID we do not hold selects no key (§6.7.2-4).
  const Key* key = nullptr;
  for (uint8_t k = 0; k < key_count_; ++k)
    if (keys_[k].id == auth.key_id) key = &keys_[k];
  if (key == nullptr) return RxDiscard::kAuthKeyIdMismatch;

  if (auth_type_ == AuthType::kSimplePassword) {
    // §6.7.2: the password must match exactly, length included.
    if (auth.value_length != key->length ||
        CRYPTO_memcmp(auth.value.data(), key->secret.data(), key->length) != 0) {
      return RxDiscard::kAuthFailed;
    }
    peer_key_id_ = key->id;
    return RxDiscard::kNone;
  }

  // §6.7.3/§6.7.4, Keyed and Meticulous Keyed MD5/SHA1. bfd.AuthSeqKnown
  // lapses after two detection times without a packet (§6.8.1).
  if (auth_seq_known_ && now >= auth_seq_expiry_) auth_seq_known_ = false;
  if (auth_seq_known_) {
    // Accept RcvAuthSeq (+1 if meticulous) .. RcvAuthSeq + 3 x Detect Mult
    // inclusive, in circular 32-bit sequence space.
    const uint32_t lo = rcv_auth_seq_ + (isMeticulous(auth_type_) ? 1u : 0u);
    const uint32_t hi = rcv_auth_seq_ + 3u * packet.detect_mult;
    if (static_cast<uint32_t>(auth.sequence - lo) > static_cast<uint32_t>(hi - lo)) {
      return RxDiscard::kAuthSequence;
    }
  }
  const size_t n = digestLength(auth_type_);
  if (wire.size() < packet.length || packet.length < kDigestOffset + n ||
      packet.length > kMaxPacketLength) {
    return RxDiscard::kAuthFailed;
  }
  std::array<uint8_t, kMaxPacketLength> scratch;
  std::memcpy(scratch.data(), wire.data(), packet.length);
  std::array<uint8_t, kSha1DigestLength> expected;
  const bool digest_ok = digestWithKey(
      auth_type_, std::span<uint8_t>(scratch.data(), packet.length), key->secret, expected.data());
  OPENSSL_cleanse(scratch.data(), packet.length);  // it held the key in the digest field
  if (!digest_ok || CRYPTO_memcmp(expected.data(), auth.value.data(), n) != 0)
    return RxDiscard::kAuthFailed;
  rcv_auth_seq_ = auth.sequence;
  auth_seq_known_ = true;
  peer_key_id_ = key->id;
  const Micros detection =
      static_cast<Micros>(packet.detect_mult) * std::max<Micros>(eff_rx_, packet.desired_min_tx_us);
  // 2 x detection < 2^42; saturate near the end of the clock.
  auth_seq_expiry_ = now > kNever - 2 * detection ? kNever : now + 2 * detection;
  return RxDiscard::kNone;
}

void Session::fillAuth(ControlPacket& packet) noexcept {
  if (auth_type_ == AuthType::kNone) return;
  packet.auth_present = true;
  AuthSection& auth = packet.auth;
  auth.type = auth_type_;
  auth.key_id = keys_[0].id;
  if (auth_type_ == AuthType::kSimplePassword) {
    auth.value_length = keys_[0].length;
    std::copy_n(keys_[0].secret.begin(), keys_[0].length, auth.value.begin());
    return;
  }
  // §6.7.3/§6.7.4: Meticulous types MUST increment bfd.XmitAuthSeq on every
  // packet; the plain keyed types MAY, and do so here too.
  auth.sequence = xmit_auth_seq_++;
  auth.value_length = static_cast<uint8_t>(digestLength(auth_type_));
  auth.value.fill(0);  // writePacket() computes the digest; the key never goes here
}

void Session::setKeys(const AuthConfig& auth) noexcept {
  // validate() has passed: every secret fits, there are ≤ kMaxAcceptKeys.
  const auto set = [](Key& key, uint8_t id, const std::string& secret) {
    key.id = id;
    key.length = static_cast<uint8_t>(secret.size());
    key.secret.fill(0);
    std::copy(secret.begin(), secret.end(), key.secret.begin());
  };
  // No old key stays in the session's memory (the config's copies are the
  // config's; keep the file mode 0600).
  for (Key& key : keys_) OPENSSL_cleanse(key.secret.data(), key.secret.size());
  set(keys_[0], auth.key_id, auth.secret);
  for (size_t k = 0; k < auth.accept.size(); ++k)
    set(keys_[k + 1], auth.accept[k].key_id, auth.accept[k].secret);
  key_count_ = static_cast<uint8_t>(1 + auth.accept.size());
  // show bfd's peer key: only a key still held (the peer's next packet says).
  bool held = false;
  for (uint8_t k = 0; k < key_count_; ++k) held |= keys_[k].id == peer_key_id_;
  if (!held) peer_key_id_ = -1;
}

Session::~Session() {
  for (Key& key : keys_) OPENSSL_cleanse(key.secret.data(), key.secret.size());
}

bool Session::setAuthKeys(const AuthConfig& auth) noexcept {
  if (auth.type != auth_type_ || validate(auth) != nullptr) return false;
  setKeys(auth);
  return true;
}

size_t Session::writePacket(Micros now, std::span<uint8_t> out) noexcept {
  if (out.size() < kMaxPacketLength) return 0;
  const ControlPacket packet = buildPacket(now);
  const size_t n = encode(packet, out);
  if (n == 0 || digestLength(auth_type_) == 0) return n;
  std::array<uint8_t, kSha1DigestLength> digest;
  if (!digestWithKey(auth_type_, out.first(n), keys_[0].secret, digest.data())) {
    // Never leave the key itself in the buffer; send nothing.
    std::memset(out.data() + kDigestOffset, 0, digestLength(auth_type_));
    return 0;
  }
  std::memcpy(out.data() + kDigestOffset, digest.data(), digestLength(auth_type_));
  return n;
}

}  // namespace ferry::bfd
