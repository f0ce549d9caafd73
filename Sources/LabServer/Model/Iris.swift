import Foundation

extension LabeledDataset {
    /// Fisher's Iris data (150 flowers, 4 measurements in cm, 3 species), shipped as the module
    /// resource `Resources/iris.csv`; its source and licence are in `Resources/README.md`.
    public static func loadIris() throws -> LabeledDataset {
        guard let url = Bundle.module.url(forResource: "iris", withExtension: "csv") else {
            throw FormatError(line: 0, message: "iris.csv is missing from the LabServer module's resources")
        }
        return try LabeledDataset(csv: String(contentsOf: url, encoding: .utf8))
    }

    /// The Iris data, read once per process. The file ships with the module, so failing to read
    /// it is a packaging error, not something a lab could recover from.
    public static let iris: LabeledDataset = {
        do {
            return try loadIris()
        } catch {
            fatalError("the bundled Iris data cannot be read: \(error)")
        }
    }()
}
