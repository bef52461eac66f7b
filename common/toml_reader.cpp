#include "toml_reader.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

namespace lb::toml_reader {

std::vector<std::string> error_texts(std::vector<Error> errors) {
  std::vector<std::string> texts;
  texts.reserve(errors.size());
  for (Error& e : errors) texts.push_back(std::move(e.text));
  return texts;
}

std::optional<std::string> read_file(const std::string& path, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = path + ": cannot open file";
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<toml::table> parse(std::string_view text, const std::string& source, std::vector<Error>& errors) {
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    int line = static_cast<int>(e.source().begin.line);
    std::ostringstream out;
    out << source << ":" << line << ": syntax: " << e.description();
    errors.push_back({line, out.str()});
    return std::nullopt;
  }
}

TableReader::TableReader(const toml::table* table, std::string path, const std::string& source,
                         std::vector<Error>& errors)
    : table_(table), path_(std::move(path)), source_(source), errors_(errors) {}

TableReader TableReader::nested(const toml::table* table, std::string_view name) const {
  return TableReader(table, qualified(name), source_, errors_);
}

int TableReader::line() const {
  // toml++ gives a table the line of its [header] and the root line 1; only a table
  // that is not in the file has none.
  return table_ ? std::max(1, static_cast<int>(table_->source().begin.line)) : 1;
}

int TableReader::line_of(std::string_view key) const {
  const toml::node* n = get(key);
  return n ? static_cast<int>(n->source().begin.line) : line();
}

const toml::node* TableReader::get(std::string_view key) const { return table_ ? table_->get(key) : nullptr; }

void TableReader::error_at(int line, std::string_view key, std::string_view reason) {
  std::ostringstream out;
  out << source_ << ":" << line << ": " << qualified(key) << ": " << reason;
  errors_.push_back({line, out.str()});
}

void TableReader::allow_only(std::initializer_list<std::string_view> keys, std::string_view complaint) {
  if (!table_) return;
  for (auto&& [k, v] : *table_) {
    if (std::find(keys.begin(), keys.end(), k.str()) == keys.end())
      error_at(static_cast<int>(v.source().begin.line), k.str(), complaint);
  }
}

std::optional<int64_t> TableReader::integer_in_range(std::string_view key, int64_t min, int64_t max, bool required) {
  const toml::node* n = node(key, required);
  if (!n) return std::nullopt;
  if (!n->is_integer()) {
    error(key, "must be an integer");
    return std::nullopt;
  }
  int64_t v = *n->value<int64_t>();
  if (v < min || v > max) {
    error(key, std::to_string(v) + " out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    return std::nullopt;
  }
  return v;
}

void TableReader::number(std::string_view key, double& out, double min, double max) {
  const toml::node* n = node(key, false);
  if (!n) return;
  if (!n->is_number()) return error(key, "must be a number");
  double v = *n->value<double>();
  if (!(v >= min && v <= max)) {  // NaN is out of every range
    std::ostringstream m;
    m << v << " out of range [" << min << ", " << max << "]";
    return error(key, m.str());
  }
  out = v;
}

void TableReader::boolean(std::string_view key, bool& out) {
  const toml::node* n = node(key, false);
  if (!n) return;
  if (!n->is_boolean()) return error(key, "must be true or false");
  out = *n->value<bool>();
}

std::optional<std::string> TableReader::string(std::string_view key, bool required) {
  const toml::node* n = node(key, required);
  if (!n) return std::nullopt;
  if (!n->is_string()) {
    error(key, "must be a string");
    return std::nullopt;
  }
  return std::string(*n->value<std::string_view>());
}

void TableReader::string_array(std::string_view key, std::vector<std::string>& out) {
  const toml::node* n = node(key, false);
  if (!n) return;
  const toml::array* arr = n->as_array();
  if (!arr) return error(key, "must be an array of strings");
  std::vector<std::string> values;
  for (const toml::node& item : *arr) {
    if (!item.is_string()) return error(key, "must be an array of strings");
    values.emplace_back(*item.value<std::string_view>());
  }
  out = std::move(values);
}

const toml::table* TableReader::table(std::string_view key) {
  const toml::node* n = get(key);
  if (!n) return nullptr;
  if (!n->is_table()) {
    error(key, "must be a table ([" + std::string(key) + "])");
    return nullptr;
  }
  return n->as_table();
}

const toml::array* TableReader::table_array(std::string_view key) {
  const toml::node* n = get(key);
  if (!n) return nullptr;
  const toml::array* arr = n->as_array();
  if (!arr || !arr->is_array_of_tables()) {
    error(key, "must be an array of tables ([[" + std::string(key) + "]])");
    return nullptr;
  }
  return arr;
}

const toml::node* TableReader::node(std::string_view key, bool required) {
  const toml::node* n = get(key);
  if (!n && required) error(key, "missing (required)");
  return n;
}

std::string TableReader::qualified(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

}  // namespace lb::toml_reader
