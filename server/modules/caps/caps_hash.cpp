#include "server/modules/caps/caps_hash.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <tuple>
#include <vector>

#include "protocol/namespaces.hpp"
#include "protocol/sasl/sasl.hpp"

namespace parley::server::modules::caps {

using protocol::xml::Element;

namespace {

struct Identity {
    std::string category, type, lang, name;
    auto key() const { return std::tie(category, type, lang, name); }
    bool operator<(const Identity& o) const { return key() < o.key(); }
    bool operator==(const Identity& o) const { return key() == o.key(); }
};

struct Field {
    std::string var;
    std::vector<std::string> values;
};

struct Form {
    std::string form_type;
    std::vector<Field> fields;
};

template <class T>
bool has_duplicates(const std::vector<T>& sorted) {
    return std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end();
}

std::vector<std::string> values_of(const Element& field) {
    std::vector<std::string> values;
    for (const Element& v : field.children()) {
        if (!v.is_text() && v.name() == "value") values.push_back(v.text());
    }
    return values;
}

// One XEP-0128 form: nullopt with `ill_formed` unset when the form is to be ignored.
std::optional<Form> read_form(const Element& x, UntypedFormType rule, bool& ill_formed) {
    Form form;
    bool has_form_type = false;
    for (const Element& f : x.children()) {
        if (f.is_text() || f.name() != "field") continue;
        if (f.attr("var") != "FORM_TYPE") {
            form.fields.push_back({std::string(f.attr("var")), values_of(f)});
            continue;
        }
        const std::string* type = f.find_attr("type");
        const bool hidden = type ? *type == "hidden" : rule == UntypedFormType::include_form;
        std::vector<std::string> values = values_of(f);
        std::sort(values.begin(), values.end());
        values.erase(std::unique(values.begin(), values.end()), values.end());
        if (values.size() > 1 || has_form_type) {
            ill_formed = true;
            return std::nullopt;
        }
        if (!hidden || values.empty()) return std::nullopt;
        form.form_type = values.front();
        has_form_type = true;
    }
    if (!has_form_type) return std::nullopt;
    return form;
}

std::optional<std::string> digest(std::string_view data, HashAlgorithm algorithm) {
    const EVP_MD* md = algorithm == HashAlgorithm::sha1 ? EVP_sha1() : EVP_sha256();
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), out, &len, md, nullptr) != 1) return std::nullopt;
    return std::string(reinterpret_cast<const char*>(out), len);
}

}  // namespace

std::optional<HashAlgorithm> hash_from_name(std::string_view name) {
    if (name == "sha-1") return HashAlgorithm::sha1;
    if (name == "sha-256") return HashAlgorithm::sha256;
    return std::nullopt;
}

std::optional<std::string> verification_input(const Element& query, UntypedFormType rule) {
    std::vector<Identity> identities;
    std::vector<std::string> features;
    std::vector<Form> forms;
    for (const Element& child : query.children()) {
        if (child.is_text()) continue;
        if (child.name() == "identity" && child.xmlns() == protocol::ns::disco_info) {
            identities.push_back({std::string(child.attr("category")), std::string(child.attr("type")),
                                  std::string(child.attr("xml:lang")), std::string(child.attr("name"))});
        } else if (child.name() == "feature" && child.xmlns() == protocol::ns::disco_info) {
            features.emplace_back(child.attr("var"));
        } else if (child.name() == "x" && child.xmlns() == "jabber:x:data") {
            bool ill_formed = false;
            auto form = read_form(child, rule, ill_formed);
            if (ill_formed) return std::nullopt;
            if (form) forms.push_back(std::move(*form));
        }
    }
    std::sort(identities.begin(), identities.end());
    std::sort(features.begin(), features.end());
    auto by_type = [](const Form& a, const Form& b) { return a.form_type < b.form_type; };
    std::sort(forms.begin(), forms.end(), by_type);
    if (has_duplicates(identities) || has_duplicates(features)) return std::nullopt;
    auto same_type = [](const Form& a, const Form& b) { return a.form_type == b.form_type; };
    if (std::adjacent_find(forms.begin(), forms.end(), same_type) != forms.end()) return std::nullopt;

    std::string s;
    for (const Identity& i : identities) s += i.category + '/' + i.type + '/' + i.lang + '/' + i.name + '<';
    for (const std::string& f : features) s += f + '<';
    for (Form& form : forms) {
        s += form.form_type + '<';
        std::sort(form.fields.begin(), form.fields.end(),
                  [](const Field& a, const Field& b) { return a.var < b.var; });
        for (Field& field : form.fields) {
            s += field.var + '<';
            std::sort(field.values.begin(), field.values.end());
            for (const std::string& v : field.values) s += v + '<';
        }
    }
    return s;
}

std::optional<std::string> verification_string(const Element& query, HashAlgorithm algorithm,
                                               UntypedFormType rule) {
    auto s = verification_input(query, rule);
    if (!s) return std::nullopt;
    auto hash = digest(*s, algorithm);
    if (!hash) return std::nullopt;
    return protocol::sasl::base64_encode(*hash);
}

bool matches(const Element& query, HashAlgorithm algorithm, std::string_view ver) {
    auto strict = verification_string(query, algorithm, UntypedFormType::ignore_form);
    if (strict && *strict == ver) return true;
    // COMPAT: generators that leave FORM_TYPE untyped in result forms but hash the form.
    auto lenient = verification_string(query, algorithm, UntypedFormType::include_form);
    return lenient && *lenient == ver;
}

}  // namespace parley::server::modules::caps
