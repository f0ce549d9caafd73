import Foundation
import WireProtocol

/// Rescales each measurement to mean 0 and standard deviation 1, with the means and deviations
/// of the training rows. Gradient descent converges much faster on features of one scale, and the
/// held-out rows are scaled with the training rows' numbers, never their own.
public struct Standardizer: Sendable, Equatable {
    public let means: [Double]
    public let deviations: [Double]

    /// Learns the scaling from `rows` (population standard deviation; a constant column keeps
    /// deviation 1 so nothing is divided by zero).
    public init(fitting rows: [[Double]]) {
        let width = rows.first?.count ?? 0
        let count = Double(max(rows.count, 1))
        var means = [Double](repeating: 0, count: width)
        for row in rows {
            for column in 0..<width { means[column] += row[column] }
        }
        means = means.map { $0 / count }
        var deviations = [Double](repeating: 0, count: width)
        for row in rows {
            for column in 0..<width {
                let difference = row[column] - means[column]
                deviations[column] += difference * difference
            }
        }
        self.means = means
        self.deviations = deviations.map { variance in
            let deviation = (variance / count).squareRoot()
            return deviation > 0 ? deviation : 1
        }
    }

    public func transform(_ row: [Double]) -> [Double] {
        zip(row, zip(means, deviations)).map { value, scale in (value - scale.0) / scale.1 }
    }
}

/// Multinomial logistic regression (softmax regression): one linear score per class,
/// `score[k] = bias[k] + Σ_j weight[k][j] · x[j]` on the standardised measurements `x`, turned
/// into probabilities that sum to 1 by the softmax function, `p[k] = exp(score[k]) / Σ exp(score)`.
/// The prediction is the class with the highest probability; that probability is its confidence.
///
/// Plain `Double` arithmetic, no matrix library. The weights are one flat array and the inner
/// loops use buffer pointers, so that training stays in the milliseconds even in a debug build.
public struct SoftmaxRegression: Sendable, Equatable {
    public let classNames: [String]
    public let standardizer: Standardizer
    /// Row-major, one row per class: `weights[k * featureCount + j]` is how much measurement `j`
    /// (standardised) adds to class `k`'s score.
    public internal(set) var weights: [Double]
    public internal(set) var biases: [Double]

    /// How many measurements a prediction needs.
    public var featureCount: Int { standardizer.means.count }
    public var classCount: Int { classNames.count }

    /// The probability of each class (in ``classNames`` order) for raw, unscaled measurements.
    /// - Precondition: `features.count == featureCount`.
    public func probabilities(for features: [Double]) -> [Double] {
        precondition(features.count == featureCount, "the model takes \(featureCount) measurements, not \(features.count)")
        let x = standardizer.transform(features)
        var probabilities = [Double](repeating: 0, count: classCount)
        x.withUnsafeBufferPointer { x in
            probabilities.withUnsafeMutableBufferPointer { out in
                scores(of: x, into: out)
                Self.softmax(out)
            }
        }
        return probabilities
    }

    /// The most probable class and every class's probability (in ``classNames`` order).
    /// - Precondition: `features.count == featureCount`.
    public func predict(_ features: [Double]) -> (label: String, probabilities: [Double]) {
        let probabilities = probabilities(for: features)
        return (classNames[Self.argmax(probabilities)], probabilities)
    }

    /// `score[k] = bias[k] + Σ_j weight[k][j] · x[j]` for one standardised row `x`.
    func scores(of x: UnsafeBufferPointer<Double>, into scores: UnsafeMutableBufferPointer<Double>) {
        withParameters { weights, biases in Self.scores(of: x, weights: weights, biases: biases, into: scores) }
    }

    /// Lends the weights and biases as buffers, for loops over many rows.
    func withParameters<Result>(_ body: (UnsafeBufferPointer<Double>, UnsafeBufferPointer<Double>) -> Result) -> Result {
        weights.withUnsafeBufferPointer { weights in biases.withUnsafeBufferPointer { biases in body(weights, biases) } }
    }

    static func scores(
        of x: UnsafeBufferPointer<Double>, weights: UnsafeBufferPointer<Double>, biases: UnsafeBufferPointer<Double>,
        into scores: UnsafeMutableBufferPointer<Double>
    ) {
        let width = x.count
        for k in 0..<scores.count {
            var score = biases[k]
            for j in 0..<width { score += weights[k * width + j] * x[j] }
            scores[k] = score
        }
    }

    /// Turns scores into probabilities in place, `exp(s[k] - top) / Σ exp(s - top)` where `top` is
    /// the largest score (so `exp` cannot overflow).
    /// - Returns: `log Σ exp(s)`, so that `log p[k] = s[k] - (that)` needs no `log` of a tiny `p`.
    @discardableResult
    static func softmax(_ values: UnsafeMutableBufferPointer<Double>) -> Double {
        var top = -Double.infinity
        for value in values where value > top { top = value }
        var total = 0.0
        for k in values.indices {
            values[k] = exp(values[k] - top)
            total += values[k]
        }
        for k in values.indices { values[k] /= total }
        return top + log(total)
    }

    /// The index of the largest value (the first one on a tie).
    static func argmax<Values: RandomAccessCollection<Double>>(_ values: Values) -> Int where Values.Index == Int {
        var best = values.startIndex
        for index in values.indices where values[index] > values[best] { best = index }
        return best
    }
}

/// How a model is trained. The defaults train the predict endpoint's start-up model.
public struct TrainingOptions: Sendable, Equatable {
    /// Full passes over the training rows; each pass is one gradient-descent step.
    public var epochs: Int
    /// The step size of gradient descent.
    public var learningRate: Double
    /// The share of each class held out for measuring accuracy on rows the model never saw.
    public var heldOutFraction: Double
    /// Decides the held-out rows and the starting weights: same seed, same model.
    public var seed: UInt64

    public init(epochs: Int = 300, learningRate: Double = 1.0, heldOutFraction: Double = 0.2, seed: UInt64 = 1936) {
        self.epochs = epochs
        self.learningRate = learningRate
        self.heldOutFraction = heldOutFraction
        self.seed = seed
    }
}

/// What one epoch of training measured, after its gradient step. Every number is computed from
/// the data: nothing is simulated.
public struct EpochReport: Sendable, Equatable {
    /// 1-based.
    public let epoch: Int
    public let epochs: Int
    /// Mean cross-entropy on the training rows: `-mean(log p[true class])`.
    public let loss: Double
    /// The share of training rows predicted correctly.
    public let trainingAccuracy: Double
    /// The share of held-out rows predicted correctly: the honest number.
    public let heldOutAccuracy: Double
}

/// A training run, one epoch at a time, so that the caller sets the pace: the start-up model
/// runs all its epochs at once (milliseconds), a training job sleeps between them to show its
/// progress. Same code, same numbers.
///
/// Each epoch is one step of full-batch gradient descent on the mean cross-entropy. For softmax
/// regression the gradient is short: a row `x` of class `y` pushes class `k`'s score by
/// `error[k] = p[k] - (k == y ? 1 : 0)`, so the weight gradient is `error[k] · x[j]` and the bias
/// gradient `error[k]`, averaged over the rows.
public struct SoftmaxTraining: Sendable {
    public let options: TrainingOptions
    public let training: LabeledDataset
    public let heldOut: LabeledDataset
    public private(set) var model: SoftmaxRegression
    /// Epochs done so far.
    public private(set) var epoch = 0
    /// The training and held-out rows, standardised once, one flat array each (row-major).
    private let trainingRows: [Double]
    private let heldOutRows: [Double]

    public init(data: LabeledDataset, options: TrainingOptions = TrainingOptions()) {
        self.options = options
        (training, heldOut) = data.stratifiedSplit(heldOutFraction: options.heldOutFraction, seed: options.seed)
        let standardizer = Standardizer(fitting: training.features)
        trainingRows = training.features.flatMap(standardizer.transform)
        heldOutRows = heldOut.features.flatMap(standardizer.transform)
        // Small random starting weights in ±0.01, biases at 0. A second generator (seed + 1)
        // keeps the weights independent of how many draws the split took.
        var generator = SeededGenerator(seed: options.seed &+ 1)
        let weights = (0..<data.classNames.count * data.featureNames.count).map { _ in
            Double(generator.next() >> 11) / Double(UInt64(1) << 53) * 0.02 - 0.01
        }
        model = SoftmaxRegression(
            classNames: data.classNames, standardizer: standardizer, weights: weights,
            biases: [Double](repeating: 0, count: data.classNames.count)
        )
    }

    public var isFinished: Bool { epoch >= options.epochs }

    /// One epoch: a gradient step on all training rows, then the measurements of the new model.
    public mutating func step() -> EpochReport {
        let classes = model.classCount
        let width = model.featureCount
        var weightGradient = [Double](repeating: 0, count: classes * width)
        var biasGradient = [Double](repeating: 0, count: classes)
        var probabilities = [Double](repeating: 0, count: classes)
        let model = self.model
        let labels = training.labels
        model.withParameters { weights, biases in
            trainingRows.withUnsafeBufferPointer { rows in
                weightGradient.withUnsafeMutableBufferPointer { weightGradient in
                    biasGradient.withUnsafeMutableBufferPointer { biasGradient in
                        probabilities.withUnsafeMutableBufferPointer { p in
                            for (row, label) in labels.enumerated() {
                                let x = UnsafeBufferPointer(rebasing: rows[row * width..<(row + 1) * width])
                                SoftmaxRegression.scores(of: x, weights: weights, biases: biases, into: p)
                                SoftmaxRegression.softmax(p)
                                for k in 0..<classes {
                                    let error = p[k] - (k == label ? 1 : 0)
                                    biasGradient[k] += error
                                    for j in 0..<width { weightGradient[k * width + j] += error * x[j] }
                                }
                            }
                        }
                    }
                }
            }
        }
        let scale = options.learningRate / Double(labels.count)
        for k in 0..<classes { self.model.biases[k] -= scale * biasGradient[k] }
        for index in weightGradient.indices { self.model.weights[index] -= scale * weightGradient[index] }
        epoch += 1
        let (loss, trainingAccuracy) = evaluate(trainingRows, training.labels)
        return EpochReport(
            epoch: epoch, epochs: options.epochs, loss: loss, trainingAccuracy: trainingAccuracy,
            heldOutAccuracy: evaluate(heldOutRows, heldOut.labels).accuracy
        )
    }

    /// Mean cross-entropy and accuracy of the current model on standardised rows.
    private func evaluate(_ rows: [Double], _ labels: [Int]) -> (loss: Double, accuracy: Double) {
        guard !labels.isEmpty else { return (0, 0) }
        let width = model.featureCount
        var loss = 0.0
        var correct = 0
        var probabilities = [Double](repeating: 0, count: model.classCount)
        model.withParameters { weights, biases in
            rows.withUnsafeBufferPointer { rows in
                probabilities.withUnsafeMutableBufferPointer { p in
                    for (row, label) in labels.enumerated() {
                        let x = UnsafeBufferPointer(rebasing: rows[row * width..<(row + 1) * width])
                        SoftmaxRegression.scores(of: x, weights: weights, biases: biases, into: p)
                        let trueScore = p[label]
                        loss -= trueScore - SoftmaxRegression.softmax(p)  // -log p[label]
                        if SoftmaxRegression.argmax(p) == label { correct += 1 }
                    }
                }
            }
        }
        return (loss / Double(labels.count), Double(correct) / Double(labels.count))
    }

    /// Trains all epochs at once, calling `progress` after each one.
    /// - Returns: the trained model and the last epoch's report.
    public static func run(
        data: LabeledDataset, options: TrainingOptions = TrainingOptions(), progress: (EpochReport) -> Void = { _ in }
    ) -> (model: SoftmaxRegression, report: EpochReport) {
        precondition(options.epochs >= 1, "training needs at least one epoch")
        var training = SoftmaxTraining(data: data, options: options)
        var report: EpochReport
        repeat {
            report = training.step()
            progress(report)
        } while !training.isFinished
        return (training.model, report)
    }
}
