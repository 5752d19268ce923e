// A strict little XML reader for tests: elements, attributes (quoted),
// character data, the five predefined entities and numeric references, an
// optional <?xml …?> prolog and comments. Anything malformed (a mismatched
// or unclosed tag, an unquoted attribute, a stray '<' or '&') throws, so a
// document that parses here is well-formed for a browser too.
#pragma once

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace ferry::test {

struct XmlElement {
  std::string name;
  std::map<std::string, std::string> attributes;
  std::vector<std::unique_ptr<XmlElement>> children;
  std::string text;  // all character data directly inside, entities decoded

  std::string attr(const std::string& key) const {
    auto it = attributes.find(key);
    return it == attributes.end() ? std::string() : it->second;
  }
  bool hasClass(const std::string& cls) const {
    const std::string all = " " + attr("class") + " ";
    return all.find(" " + cls + " ") != std::string::npos;
  }
  // Direct children named `tag` (and with class `cls` if given).
  std::vector<const XmlElement*> childrenNamed(const std::string& tag,
                                               const std::string& cls = "") const {
    std::vector<const XmlElement*> out;
    for (const auto& c : children)
      if (c->name == tag && (cls.empty() || c->hasClass(cls))) out.push_back(c.get());
    return out;
  }
  // Every descendant named `tag` (and with class `cls` if given), document order.
  void findAll(const std::string& tag, const std::string& cls,
               std::vector<const XmlElement*>& out) const {
    for (const auto& c : children) {
      if (c->name == tag && (cls.empty() || c->hasClass(cls))) out.push_back(c.get());
      c->findAll(tag, cls, out);
    }
  }
  std::vector<const XmlElement*> findAll(const std::string& tag,
                                         const std::string& cls = "") const {
    std::vector<const XmlElement*> out;
    findAll(tag, cls, out);
    return out;
  }
};

class XmlReader {
 public:
  static std::unique_ptr<XmlElement> parse(const std::string& doc) {
    XmlReader r(doc);
    r.skipMisc();
    auto root = r.element();
    r.skipMisc();
    if (r.pos_ != doc.size()) r.fail("content after the root element");
    return root;
  }

 private:
  explicit XmlReader(const std::string& doc) : s_(doc) {}

  [[noreturn]] void fail(const std::string& why) const {
    throw std::runtime_error("XML error at offset " + std::to_string(pos_) + ": " + why);
  }
  bool startsWith(const char* p) const {
    return s_.compare(pos_, std::char_traits<char>::length(p), p) == 0;
  }
  void skipSpace() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t' || s_[pos_] == '\r'))
      ++pos_;
  }
  void skipMisc() {
    for (;;) {
      skipSpace();
      if (startsWith("<?")) {
        const auto end = s_.find("?>", pos_);
        if (end == std::string::npos) fail("unterminated processing instruction");
        pos_ = end + 2;
      } else if (startsWith("<!--")) {
        const auto end = s_.find("-->", pos_);
        if (end == std::string::npos) fail("unterminated comment");
        pos_ = end + 3;
      } else {
        return;
      }
    }
  }
  static bool nameChar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ':' ||
           c == '.';
  }
  std::string name() {
    const size_t start = pos_;
    while (pos_ < s_.size() && nameChar(s_[pos_])) ++pos_;
    if (pos_ == start) fail("expected a name");
    return s_.substr(start, pos_ - start);
  }
  std::string decode(const std::string& raw) {
    std::string out;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '<') fail("'<' in character data or an attribute");
      if (raw[i] != '&') {
        out += raw[i];
        continue;
      }
      const auto semi = raw.find(';', i);
      if (semi == std::string::npos) fail("'&' without ';'");
      const std::string ent = raw.substr(i + 1, semi - i - 1);
      if (ent == "amp")
        out += '&';
      else if (ent == "lt")
        out += '<';
      else if (ent == "gt")
        out += '>';
      else if (ent == "quot")
        out += '"';
      else if (ent == "apos")
        out += '\'';
      else if (!ent.empty() && ent[0] == '#')
        out += static_cast<char>(std::stoi(ent.substr(1)));
      else
        fail("unknown entity &" + ent + ";");
      i = semi;
    }
    return out;
  }
  std::unique_ptr<XmlElement> element() {
    if (!startsWith("<")) fail("expected '<'");
    ++pos_;
    auto e = std::make_unique<XmlElement>();
    e->name = name();
    for (;;) {
      skipSpace();
      if (startsWith("/>")) {
        pos_ += 2;
        return e;
      }
      if (startsWith(">")) {
        ++pos_;
        break;
      }
      const std::string key = name();
      skipSpace();
      if (!startsWith("=")) fail("attribute " + key + " without '='");
      ++pos_;
      skipSpace();
      if (pos_ >= s_.size() || (s_[pos_] != '"' && s_[pos_] != '\''))
        fail("unquoted attribute " + key);
      const char quote = s_[pos_++];
      const auto end = s_.find(quote, pos_);
      if (end == std::string::npos) fail("unterminated attribute " + key);
      if (e->attributes.count(key)) fail("duplicate attribute " + key);
      e->attributes[key] = decode(s_.substr(pos_, end - pos_));
      pos_ = end + 1;
    }
    for (;;) {
      if (pos_ >= s_.size()) fail("unclosed <" + e->name + ">");
      if (startsWith("</")) {
        pos_ += 2;
        const std::string closing = name();
        if (closing != e->name) fail("</" + closing + "> closes <" + e->name + ">");
        skipSpace();
        if (!startsWith(">")) fail("expected '>'");
        ++pos_;
        return e;
      }
      if (startsWith("<!--")) {
        skipMisc();
        continue;
      }
      if (startsWith("<")) {
        e->children.push_back(element());
        continue;
      }
      const auto next = s_.find('<', pos_);
      if (next == std::string::npos) fail("unclosed <" + e->name + ">");
      e->text += decode(s_.substr(pos_, next - pos_));
      pos_ = next;
    }
  }

  const std::string& s_;
  size_t pos_ = 0;
};

}  // namespace ferry::test
