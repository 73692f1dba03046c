import Foundation

/// Draws text as a QR code for the terminal with the `qrencode` program (Debian package
/// qrencode), which MeetKit does not reimplement. The text goes through a pipe, never argv.
enum QRCode {
    static func render(_ text: String) throws -> String {
        guard let path = ["/usr/bin/qrencode", "/usr/local/bin/qrencode"].first(where: FileManager.default.isExecutableFile) else {
            throw CLIError("Drawing a QR code needs the qrencode program: apt-get install qrencode. Nothing was written.")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["-t", "UTF8", "-m", "2"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let drawing = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CLIError("qrencode could not draw the code.") }
        return String(decoding: drawing, as: UTF8.self)
    }
}
