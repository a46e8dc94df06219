public enum ModelVersion { public static let api = "v1" }
