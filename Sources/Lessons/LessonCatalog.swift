import Foundation

/// Every lesson in `lessons/`, in file-name order (the manifest is the directory: `01-…`, `02-…`).
public struct LessonCatalog: Sendable {
    public let directory: String
    public let lessons: [Lesson]
    /// Problems found while reading the files.
    public let problems: [Lesson.Problem]

    public static func load(from directory: String = defaultDirectory()) -> LessonCatalog {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".md") && $0.first?.isNumber == true }.sorted()
        var lessons: [Lesson] = []
        var problems: [Lesson.Problem] = []
        for name in names {
            let id = String(name.dropLast(3))
            guard let text = try? String(contentsOfFile: directory + "/" + name, encoding: .utf8) else {
                problems.append(Lesson.Problem(file: name, line: 0, message: "cannot be read as UTF-8"))
                continue
            }
            let (lesson, found) = Lesson.parse(id: id, text: text)
            if let lesson { lessons.append(lesson) }
            problems += found
        }
        return LessonCatalog(directory: directory, lessons: lessons, problems: problems)
    }

    /// `WIRELAB_LESSONS`, else the `lessons/` folder of the checkout this binary was built from.
    public static func defaultDirectory() -> String {
        if let given = ProcessInfo.processInfo.environment["WIRELAB_LESSONS"], !given.isEmpty { return given }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("lessons").path
    }

    /// A lesson by number (`2`), id (`02-the-handshake`) or a word of its id (`handshake`).
    public func find(_ name: String) -> Lesson? {
        if let number = Int(name) { return lessons.first { $0.number == number } }
        return lessons.first { $0.id == name } ?? lessons.first { $0.id.contains(name.lowercased()) }
    }

    /// The checks on the content itself: the files read cleanly (every check and exercise known),
    /// every command in a ```wirelab block (or solution block) exists, and every lesson has its transcript (`transcripts/lesson-ID.md`).
    public func validate(knownCommands: Set<String>, transcripts: String) -> [Lesson.Problem] {
        var found = problems
        if lessons.isEmpty { found.append(Lesson.Problem(file: directory, line: 0, message: "no lessons (files named NN-name.md)")) }
        for lesson in lessons {
            for step in lesson.steps {
                for command in step.commands + step.solution where !command.trimming(" ").isEmpty {
                    let word = String(command.trimming(" ").prefix { $0 != " " })
                    let bare = word.hasSuffix(":") ? "send" : word.lowercased()
                    if !knownCommands.contains(bare) {
                        found.append(Lesson.Problem(file: lesson.id + ".md", line: 0, message: "step \"\(step.title)\" uses \(word), which is not a command"))
                    }
                }
            }
            let transcript = transcripts + "/lesson-" + lesson.id + ".md"
            if !FileManager.default.fileExists(atPath: transcript) {
                found.append(Lesson.Problem(file: lesson.id + ".md", line: 0, message: "has no transcript at \(transcript)"))
            }
        }
        return found
    }
}

/// Where each lesson stands: the step the learner is on, and the steps passed.
public struct LessonProgress: Sendable, Codable, Equatable {
    public var lessons: [String: Entry] = [:]

    public struct Entry: Sendable, Codable, Equatable {
        /// 0-based.
        public var step = 0
        public var passed: Set<Int> = []

        public init() {}
    }

    public init() {}
}

/// Progress in `$XDG_STATE_HOME/wirelab/progress.json` (default `~/.local/state/wirelab/`).
public struct ProgressStore: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    public static func defaultPath() -> String? {
        let environment = ProcessInfo.processInfo.environment
        let base = environment["XDG_STATE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? environment["HOME"].map { $0 + "/.local/state" }
        return base.map { $0 + "/wirelab/progress.json" }
    }

    /// The saved progress. A file that cannot be read is moved aside (never lost, never fatal),
    /// and the returned note says where.
    public func load() -> (LessonProgress, note: String?) {
        guard let data = FileManager.default.contents(atPath: path) else { return (LessonProgress(), nil) }
        if let progress = try? JSONDecoder().decode(LessonProgress.self, from: data) { return (progress, nil) }
        let aside = path + ".corrupt"
        try? FileManager.default.removeItem(atPath: aside)
        try? FileManager.default.moveItem(atPath: path, toPath: aside)
        return (LessonProgress(), "the progress file \(path) could not be read; it was moved to \(aside) and lessons start afresh")
    }

    public func save(_ progress: LessonProgress) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try encoder.encode(progress).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
