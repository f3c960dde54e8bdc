// The Protocol Buffers lite runtime the SDK's generated messages link
// against, built by the studio for each platform (see the plugin's
// README): headers in include/, libraries in lib/<Platform>/. The
// version must be the one whose protoc generated Private/Sdk/gen.
using System.IO;
using UnrealBuildTool;

public class MusterProtobuf : ModuleRules
{
	public MusterProtobuf(ReadOnlyTargetRules Target) : base(Target)
	{
		Type = ModuleType.External;

		PublicSystemIncludePaths.Add(Path.Combine(ModuleDirectory, "include"));
		string Lib = Path.Combine(ModuleDirectory, "lib", Target.Platform.ToString());
		if (Target.Platform == UnrealTargetPlatform.Win64)
		{
			PublicAdditionalLibraries.Add(Path.Combine(Lib, "libprotobuf-lite.lib"));
		}
		else
		{
			PublicAdditionalLibraries.Add(Path.Combine(Lib, "libprotobuf-lite.a"));
		}

		// The runtime is built without RTTI, as the module that uses it.
		PublicDefinitions.Add("GOOGLE_PROTOBUF_NO_RTTI=1");
	}
}
