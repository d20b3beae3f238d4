/// The AWS shared credentials and config files (~/.aws/credentials, ~/.aws/config): INI sections of
/// `key = value` lines, as the AWS SDKs read them. A key with an empty value opens nested settings,
/// the indented lines after it (`s3 =` then `  addressing_style = path`), kept as `s3.addressing_style`.
struct AWSConfigFile: Equatable {
    /// Settings by section name, as written between the brackets (`default`, `profile dev`).
    var sections: [String: [String: String]] = [:]

    init(parsing text: String) {
        var section: String?
        var parent: String?
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let indented = rawLine.first == " " || rawLine.first == "\t"
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                let name = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                section = name
                parent = nil
                sections[name, default: [:]] = sections[name] ?? [:]
                continue
            }
            guard let section, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if indented, let parent {
                sections[section]?["\(parent).\(key)"] = value
            } else {
                sections[section]?[key] = value
                parent = value.isEmpty ? key : nil
            }
        }
    }

    /// The settings of profile `name`: the credentials file names sections by the profile alone,
    /// the config file as `profile NAME`, except `default`.
    func profile(_ name: String, isConfigFile: Bool) -> [String: String]? {
        if isConfigFile && name != "default" { return sections["profile \(name)"] }
        return sections[name]
    }
}
