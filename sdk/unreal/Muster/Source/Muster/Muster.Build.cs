// The Muster plugin's one module: the C++ SDK (staged into Private/Sdk by
// sdk/unreal/stage.sh) and the engine glue around it.
using System.IO;
using UnrealBuildTool;

public class Muster : ModuleRules
{
	public Muster(ReadOnlyTargetRules Target) : base(Target)
	{
		// The SDK's sources are plain C++17 (C++20 does as well): they must
		// not see the engine's macros (check, verify) through a forced
		// precompiled header, and their file-local helpers share names, so
		// no unity build either.
		PCHUsage = PCHUsageMode.NoPCHs;
		bUseUnity = false;

		// As the engine builds: the SDK throws nothing and uses no RTTI.
		bEnableExceptions = false;
		bUseRTTI = false;

		string Sdk = Path.Combine(ModuleDirectory, "Private", "Sdk");
		PrivateIncludePaths.Add(Path.Combine(Sdk, "include"));
		PrivateIncludePaths.Add(Path.Combine(Sdk, "gen"));

		PublicDependencyModuleNames.AddRange(new string[] { "Core", "CoreUObject", "Engine" });
		PrivateDependencyModuleNames.AddRange(new string[] { "HTTP", "Sockets", "Networking", "MusterProtobuf" });
	}
}
