import KVStore

let store = try KVStore.open(at: CommandLine.arguments.dropFirst().first ?? "/tmp/kvstore-example")
try store.put("greeting", "hello, world")
var batch = WriteBatch()
batch.put("apples", "3")
batch.delete("pears")
try store.write(batch, options: WriteOptions(sync: true))
if let value = try store.get("greeting") {
    print(String(decoding: value, as: UTF8.self))
}
try store.close()
