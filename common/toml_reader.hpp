// The TOML table reader behind the config parsers of lbdp, lbbroker and lbcp: one
// definition of how a key is read, range-checked and reported, so the three programs
// word their errors alike. Each error reads
//
//   file:line: table.key: reason
//
// with the line of the key (or of the table's header when the key is missing), the
// table's name as the config file spells it ("vip[0].backend[1]"; nothing for the root),
// and a reason that gives the bad value and what is allowed ("999 out of range [1, 256]").
// Unknown keys are errors, so a misspelt key never silently leaves its default in force.
//
// Contract: a reader never throws for a bad file and never stops early; every method
// that reads a key leaves the output untouched and records one error when the key is
// present but of the wrong type or out of range, and does nothing when it is absent and
// not required. Which keys exist, their defaults and the checks between keys stay with
// each program's parser.
//
// Thread-safety: a TableReader is not thread-safe. It belongs to the thread that parses
// the file; it reads a toml::table nobody modifies meanwhile and appends to an error list
// it does not own. Readers over different error lists may run on different threads.
//
// Depends only on toml++, so lbdp's pure core links it without Boost or OpenSSL.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <toml++/toml.h>
#include <vector>

namespace lb::toml_reader {

// One configuration error.
struct Error {
  int line;          // the line it points at, >= 1 (lets a parser sort errors into file order)
  std::string text;  // "file:line: key: reason"
};

// The texts of `errors`, in the order given. Thread-safe (a pure function).
std::vector<std::string> error_texts(std::vector<Error> errors);

// Parses `text`, named `source` in errors. On a syntax error records
// "source:line: syntax: description" and returns nullopt. Thread-safe when callers use
// different error lists.
std::optional<toml::table> parse(std::string_view text, const std::string& source, std::vector<Error>& errors);

// The whole content of a config file, or nullopt with *error set to
// "path: cannot open file". Thread-safe.
std::optional<std::string> read_file(const std::string& path, std::string* error);

class TableReader {
 public:
  // table:  the table to read; nullptr when it is absent from the file, which reads as
  //         an empty table on line 1 (so its required keys are still reported).
  // path:   the table's name in errors, "" for the root; a key reads "path.key".
  // source: the file's name in errors. source and errors must outlive the reader.
  TableReader(const toml::table* table, std::string path, const std::string& source, std::vector<Error>& errors);

  // A reader for `table` (nullptr: absent) inside this one, named "path.name" in errors,
  // recording into the same error list.
  TableReader nested(const toml::table* table, std::string_view name) const;

  // The line of the table's header; 1 for the root or an absent table.
  int line() const;
  // The line of `key`, or the table's line when the key is absent.
  int line_of(std::string_view key) const;
  bool has(std::string_view key) const { return get(key) != nullptr; }
  // The node at `key` for checks of a program's own; nullptr when absent.
  const toml::node* get(std::string_view key) const;
  const std::string& path() const { return path_; }

  // Records "source:line: path.key: reason".
  void error_at(int line, std::string_view key, std::string_view reason);
  // The same at the line of `key` (of the table when the key is absent).
  void error(std::string_view key, std::string_view reason) { error_at(line_of(key), key, reason); }

  // An error ("unknown key") for every key of the table not in `keys`.
  void allow_only(std::initializer_list<std::string_view> keys, std::string_view complaint = "unknown key");

  // An integer in [min, max] into `out`. Errors: "missing (required)", "must be an
  // integer", "V out of range [min, max]". T must hold every value in [min, max].
  template <typename T>
  void integer(std::string_view key, T& out, int64_t min, int64_t max, bool required = false) {
    if (std::optional<int64_t> v = integer_in_range(key, min, max, required)) out = static_cast<T>(*v);
  }

  // A number (integer or float) in [min, max] into `out`. Errors: "must be a number",
  // "V out of range [min, max]" (printed as an ostream prints a double).
  void number(std::string_view key, double& out, double min, double max);

  // true or false into `out`. Error: "must be true or false".
  void boolean(std::string_view key, bool& out);

  // The string at `key`; nullopt when absent or not a string. Errors: "missing
  // (required)", "must be a string".
  std::optional<std::string> string(std::string_view key, bool required = false);

  // An array of strings into `out` (all or nothing). Error: "must be an array of strings".
  void string_array(std::string_view key, std::vector<std::string>& out);

  // The sub-table at `key` ([key]); nullptr when absent, or when it is not a table
  // (then an error "must be a table ([key])").
  const toml::table* table(std::string_view key);

  // The array of tables at `key` ([[key]]); nullptr when absent, or when it is something
  // else (then an error "must be an array of tables ([[key]])").
  const toml::array* table_array(std::string_view key);

 private:
  std::optional<int64_t> integer_in_range(std::string_view key, int64_t min, int64_t max, bool required);
  // The node at `key`; when absent and required, records "missing (required)".
  const toml::node* node(std::string_view key, bool required);
  std::string qualified(std::string_view key) const;

  const toml::table* table_;
  std::string path_;
  const std::string& source_;
  std::vector<Error>& errors_;
};

}  // namespace lb::toml_reader
