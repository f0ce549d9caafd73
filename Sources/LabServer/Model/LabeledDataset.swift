import WireProtocol

/// A table of numeric measurements, each row labelled with a class: what the predict endpoint's
/// model learns from. Read from CSV text whose last column is the class name (see
/// `Resources/iris.csv` and the README next to it).
public struct LabeledDataset: Sendable, Equatable {
    /// The names of the measurement columns, from the CSV header.
    public let featureNames: [String]
    /// The classes, in the order they first appear in the file; a label is an index into this.
    public let classNames: [String]
    /// One row of measurements per sample.
    public let features: [[Double]]
    /// The class of each row, as an index into ``classNames``.
    public let labels: [Int]

    public var count: Int { features.count }

    public init(featureNames: [String], classNames: [String], features: [[Double]], labels: [Int]) {
        precondition(features.count == labels.count, "one label per row")
        self.featureNames = featureNames
        self.classNames = classNames
        self.features = features
        self.labels = labels
    }

    /// Why a CSV file is not a labelled data set, and on which line.
    public struct FormatError: Error, Sendable, CustomStringConvertible {
        public let line: Int
        public let message: String
        public var description: String { "line \(line): \(message)" }
    }

    /// Reads CSV text: a header line naming the columns, then one row per sample, the measurements
    /// as numbers and the class name last. Empty lines are skipped.
    public init(csv: String) throws(FormatError) {
        let lines = csv.split(whereSeparator: \.isNewline).map { $0.trimmingSpaces() }
        guard let header = lines.first, !header.isEmpty else { throw FormatError(line: 1, message: "no header line") }
        let columns = header.split(separator: ",", omittingEmptySubsequences: false).map { String($0.trimmingSpaces()) }
        guard columns.count >= 2 else { throw FormatError(line: 1, message: "a header needs at least one feature and the class") }
        var classNames: [String] = []
        var features: [[Double]] = []
        var labels: [Int] = []
        for (offset, line) in lines.enumerated().dropFirst() where !line.isEmpty {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingSpaces() }
            guard cells.count == columns.count else {
                throw FormatError(line: offset + 1, message: "\(cells.count) cells, but the header names \(columns.count) columns")
            }
            var row: [Double] = []
            for cell in cells.dropLast() {
                guard let value = Double(cell), value.isFinite else {
                    throw FormatError(line: offset + 1, message: "\"\(cell)\" is not a number")
                }
                row.append(value)
            }
            let name = String(cells[cells.count - 1])
            guard !name.isEmpty else { throw FormatError(line: offset + 1, message: "the class name is empty") }
            if !classNames.contains(name) { classNames.append(name) }
            features.append(row)
            labels.append(classNames.firstIndex(of: name)!)
        }
        guard !features.isEmpty else { throw FormatError(line: 2, message: "no rows after the header") }
        self.init(featureNames: Array(columns.dropLast()), classNames: classNames, features: features, labels: labels)
    }

    /// The rows at `indices`, in that order.
    public func rows(_ indices: [Int]) -> LabeledDataset {
        LabeledDataset(featureNames: featureNames, classNames: classNames, features: indices.map { features[$0] }, labels: indices.map { labels[$0] })
    }

    /// Splits the rows into a training part and a held-out part that the model never learns
    /// from, class by class, so both parts have the classes in the same proportions (stratified).
    ///
    /// Which rows are held out is decided by a `SeededGenerator`, so the same seed always gives
    /// the same split. Within each part rows keep the file's order.
    /// - Parameter heldOutFraction: the share of each class held out (rounded to whole rows).
    public func stratifiedSplit(heldOutFraction: Double, seed: UInt64) -> (training: LabeledDataset, heldOut: LabeledDataset) {
        var generator = SeededGenerator(seed: seed)
        var training: [Int] = []
        var heldOut: [Int] = []
        for label in classNames.indices {
            var members = labels.indices.filter { labels[$0] == label }
            // Fisher–Yates, written out so the split does not depend on the standard library's
            // shuffling algorithm.
            if members.count > 1 {
                for index in stride(from: members.count - 1, to: 0, by: -1) {
                    let other = Int(generator.next(upperBound: UInt64(index + 1)))
                    members.swapAt(index, other)
                }
            }
            let heldOutCount = Int((Double(members.count) * heldOutFraction).rounded())
            heldOut += members.prefix(heldOutCount)
            training += members.dropFirst(heldOutCount)
        }
        return (rows(training.sorted()), rows(heldOut.sorted()))
    }
}

extension StringProtocol {
    fileprivate func trimmingSpaces() -> Substring {
        let text = Substring(self)
        guard let first = text.firstIndex(where: { !$0.isWhitespace }) else { return text[text.endIndex...] }
        let last = text.lastIndex(where: { !$0.isWhitespace })!
        return text[first...last]
    }
}
